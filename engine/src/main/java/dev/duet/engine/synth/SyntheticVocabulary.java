package dev.duet.engine.synth;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.SequencedSet;

/**
 * A deterministic SentencePiece-style (BPE with byte fallback) vocabulary of a given size, as Llama
 * GGUF files store it: {@code <unk>}, {@code <s>}, {@code </s>}, the 256 byte tokens {@code
 * <0x00>}..{@code <0xFF>}, then normal pieces, where {@code ▁} (U+2581) marks a word start.
 *
 * <p>Normal pieces come in this order: {@code ▁}; single characters (lowercase, uppercase, digits,
 * punctuation); {@code ▁}+letter; prefixes of common English words with and without {@code ▁} (and
 * capitalized with {@code ▁}); then all two- and three-letter lowercase strings with and without
 * {@code ▁}. Each multi-character piece extends an earlier piece by one character, so any prefix of
 * the list is closed under BPE merges: every piece is the merge of two shorter pieces in the
 * vocabulary. Scores fall with the id ({@code -(id - 259)}), so earlier pieces merge first.
 *
 * <p>Immutable (accessors return copies); thread-safe.
 */
public final class SyntheticVocabulary {
  /** Token type ids as llama.cpp stores them in {@code tokenizer.ggml.token_type}. */
  public static final int NORMAL = 1;

  public static final int UNKNOWN = 2;
  public static final int CONTROL = 3;
  public static final int BYTE = 6;

  public static final int UNK_ID = 0;
  public static final int BOS_ID = 1;
  public static final int EOS_ID = 2;

  /** Id of the first byte token {@code <0x00>}. */
  public static final int FIRST_BYTE_ID = 3;

  /** Id of the first normal piece, {@code ▁}. */
  public static final int FIRST_NORMAL_ID = FIRST_BYTE_ID + 256;

  /** The SentencePiece word-start marker, U+2581. */
  public static final String SPACE = "\u2581";

  private static final String PUNCTUATION = ".,!?'\"-:;()";

  /** Common English (and children's-story) words; their prefixes become pieces. */
  private static final List<String> WORDS =
      List.of(
          "the",
          "and",
          "to",
          "a",
          "was",
          "he",
          "she",
          "it",
          "of",
          "in",
          "said",
          "her",
          "his",
          "you",
          "they",
          "with",
          "that",
          "day",
          "on",
          "for",
          "is",
          "had",
          "but",
          "so",
          "were",
          "one",
          "happy",
          "saw",
          "big",
          "very",
          "upon",
          "time",
          "once",
          "there",
          "little",
          "wanted",
          "play",
          "went",
          "friend",
          "friends",
          "mom",
          "not",
          "be",
          "all",
          "what",
          "at",
          "we",
          "are",
          "this",
          "from",
          "have",
          "an",
          "by",
          "or",
          "as",
          "can",
          "up",
          "out",
          "do",
          "if",
          "about",
          "who",
          "get",
          "which",
          "go",
          "me",
          "when",
          "make",
          "like",
          "him",
          "into",
          "look",
          "looked",
          "more",
          "some",
          "could",
          "them",
          "see",
          "other",
          "than",
          "then",
          "now",
          "only",
          "come",
          "its",
          "over",
          "think",
          "also",
          "back",
          "after",
          "use",
          "two",
          "how",
          "our",
          "work",
          "first",
          "well",
          "way",
          "even",
          "new",
          "want",
          "because",
          "any",
          "these",
          "give",
          "most",
          "us",
          "girl",
          "boy",
          "named",
          "lily",
          "tim",
          "ben",
          "sue",
          "tom",
          "dog",
          "cat",
          "bird",
          "tree",
          "park",
          "ball",
          "sun",
          "sky",
          "red",
          "blue",
          "green",
          "toy",
          "car",
          "box",
          "fun",
          "love",
          "loved",
          "help",
          "helped",
          "together",
          "smiled",
          "played",
          "ran",
          "jumped",
          "found",
          "made",
          "took",
          "home",
          "house",
          "water",
          "food",
          "good",
          "bad",
          "sad",
          "nice",
          "kind",
          "mommy",
          "daddy",
          "teacher",
          "school",
          "garden",
          "flower",
          "flowers",
          "rabbit",
          "bear",
          "fish",
          "small",
          "long",
          "old",
          "world",
          "people",
          "know",
          "just",
          "thing",
          "things",
          "never",
          "again",
          "always",
          "every",
          "would",
          "should",
          "where",
          "there",
          "their",
          "because",
          "something",
          "everyone",
          "learned",
          "important",
          "lesson",
          "end");

  private final String[] tokens;
  private final float[] scores;
  private final int[] types;

  private SyntheticVocabulary(String[] tokens, float[] scores, int[] types) {
    this.tokens = tokens;
    this.scores = scores;
    this.types = types;
  }

  /** Builds the first {@code size} tokens of the vocabulary. */
  public static SyntheticVocabulary build(int size) {
    if (size <= FIRST_NORMAL_ID) {
      throw new IllegalArgumentException(
          "vocabulary size " + size + " must exceed " + FIRST_NORMAL_ID);
    }
    String[] tokens = new String[size];
    float[] scores = new float[size];
    int[] types = new int[size];
    tokens[UNK_ID] = "<unk>";
    types[UNK_ID] = UNKNOWN;
    tokens[BOS_ID] = "<s>";
    types[BOS_ID] = CONTROL;
    tokens[EOS_ID] = "</s>";
    types[EOS_ID] = CONTROL;
    for (int b = 0; b < 256; b++) {
      tokens[FIRST_BYTE_ID + b] = String.format(Locale.ROOT, "<0x%02X>", b);
      types[FIRST_BYTE_ID + b] = BYTE;
    }
    int id = FIRST_NORMAL_ID;
    for (String piece : normalPieces(size - FIRST_NORMAL_ID)) {
      tokens[id] = piece;
      scores[id] = -(id - FIRST_NORMAL_ID);
      types[id] = NORMAL;
      id++;
    }
    if (id != size) {
      throw new IllegalArgumentException(
          "vocabulary size " + size + " exceeds the " + id + " pieces this generator can make");
    }
    return new SyntheticVocabulary(tokens, scores, types);
  }

  /** The first {@code limit} normal pieces, each an extension of an earlier piece by one char. */
  static SequencedSet<String> normalPieces(int limit) {
    SequencedSet<String> out = new LinkedHashSet<>();
    List<String> chars = new java.util.ArrayList<>();
    for (char c = 'a'; c <= 'z'; c++) {
      chars.add(String.valueOf(c));
    }
    for (char c = 'A'; c <= 'Z'; c++) {
      chars.add(String.valueOf(c));
    }
    for (char c = '0'; c <= '9'; c++) {
      chars.add(String.valueOf(c));
    }
    PUNCTUATION.chars().forEach(c -> chars.add(String.valueOf((char) c)));

    addUpTo(out, limit, SPACE);
    chars.forEach(c -> addUpTo(out, limit, c));
    for (String c : chars) {
      if (Character.isLetter(c.charAt(0))) {
        addUpTo(out, limit, SPACE + c);
      }
    }
    for (String w : WORDS) {
      String capital = Character.toUpperCase(w.charAt(0)) + w.substring(1);
      for (int k = 2; k <= w.length(); k++) {
        addUpTo(out, limit, w.substring(0, k));
        addUpTo(out, limit, SPACE + w.substring(0, k));
        addUpTo(out, limit, SPACE + capital.substring(0, k));
      }
    }
    for (int len = 2; len <= 3 && out.size() < limit; len++) {
      for (boolean space : new boolean[] {false, true}) {
        int combos = (int) Math.pow(26, len);
        for (int n = 0; n < combos && out.size() < limit; n++) {
          addUpTo(out, limit, (space ? SPACE : "") + letters(n, len));
        }
      }
    }
    return out;
  }

  /** The {@code n}-th lowercase string of length {@code len} in lexicographic order. */
  private static String letters(int n, int len) {
    char[] c = new char[len];
    for (int i = len - 1; i >= 0; i--) {
      c[i] = (char) ('a' + n % 26);
      n /= 26;
    }
    return new String(c);
  }

  private static void addUpTo(SequencedSet<String> out, int limit, String piece) {
    if (out.size() < limit) {
      out.add(piece);
    }
  }

  public int size() {
    return tokens.length;
  }

  /** Token strings by id. */
  public String[] tokens() {
    return tokens.clone();
  }

  /** SentencePiece scores by id (higher merges first). */
  public float[] scores() {
    return scores.clone();
  }

  /**
   * llama.cpp token types by id: {@link #NORMAL}, {@link #UNKNOWN}, {@link #CONTROL}, {@link
   * #BYTE}.
   */
  public int[] types() {
    return types.clone();
  }
}
