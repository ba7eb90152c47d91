package dev.duet.engine.tokenizer;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgufFile;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * The GPT-2-style byte-level BPE tokenizer of GGUF {@code tokenizer.ggml.model = gpt2} models
 * (Llama 3, Qwen2, SmolLM, GPT-2…) and of Hugging Face {@code tokenizer.json} files with {@code
 * model.type = "BPE"}, following llama.cpp's {@code llm_tokenizer_bpe}.
 *
 * <p><b>Pieces.</b> Every byte has a printable stand-in character ({@link #byteToChar}, GPT-2's
 * {@code bytes_to_unicode}: bytes 33..126, 161..172 and 174..255 stand for themselves, the other 68
 * bytes become U+0100 + n in byte order, so a space is {@code Ġ} and a newline {@code Ċ}). A normal
 * token's piece is the stand-in string of its bytes; {@link #tokenBytes} maps it back. Control
 * tokens (type {@link TokenType#CONTROL}) give no bytes; user-defined tokens ({@link
 * TokenType#USER_DEFINED}, Hugging Face added tokens that are not special) give their text
 * verbatim; unknown, unused and undefined tokens give nothing. A normal piece holding a character
 * with no byte behind it gives that character's UTF-8.
 *
 * <p><b>Encoding.</b> The text is first cut at special tokens (see {@link #encode(String, boolean,
 * boolean)}). Each raw fragment is pre-tokenized by the model's regexes (see {@link
 * #preTokenizerPatterns}), applied one after the other as in llama.cpp: each regex splits every
 * piece so far into its matches and the text between them. Each pre-token's UTF-8 bytes are mapped
 * to stand-in characters and merged: the adjacent pair with the lowest merge rank (the leftmost
 * such pair on ties) is joined, until no adjacent pair has a rank. Each resulting symbol becomes
 * its vocabulary id; a symbol missing from the vocabulary (possible only with an inconsistent
 * merges list) falls back to the ids of its single stand-in characters, and a character missing too
 * becomes the unknown token, or else fails with {@link IllegalArgumentException}. No space is put
 * before the text (BPE models carry their spaces in the pieces). Results per pre-token are cached
 * in a bounded map.
 *
 * <p><b>Regex dialect.</b> Patterns are written in the PCRE/Oniguruma dialect of llama.cpp and
 * Hugging Face; before compiling them with {@link Pattern}, {@code \s} and {@code \S} are rewritten
 * to {@code \p{IsWhite_Space}} / {@code \P{IsWhite_Space}}, since Java's {@code \s} is ASCII-only.
 * Inline {@code (?i:…)} stays ASCII-case-insensitive, as in those libraries for the contraction
 * alternatives.
 *
 * <p>Immutable and safe to share between threads.
 */
public final class ByteLevelBpeTokenizer implements Tokenizer {

  /** The Llama 3 pre-tokenizer regex ({@code tokenizer.ggml.pre = llama-bpe}). */
  public static final String LLAMA3_PATTERN =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
          + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  /** The Qwen2 regex: Llama 3's with single digits ({@code tokenizer.ggml.pre = qwen2}). */
  public static final String QWEN2_PATTERN =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
          + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  /** GPT-2's regex ({@code tokenizer.ggml.pre = gpt2 / default}, or absent). */
  public static final String GPT2_PATTERN =
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

  /** Splits every digit off on its own; applied before {@link #GPT2_PATTERN} for SmolLM. */
  public static final String SINGLE_DIGIT_PATTERN = "\\p{N}";

  private static final int CACHE_LIMIT = 1 << 16;

  /** One merge rule: the adjacent symbols {@code left} and {@code right} join. */
  public record Merge(String left, String right) {
    public Merge {
      Objects.requireNonNull(left, "left");
      Objects.requireNonNull(right, "right");
    }

    /**
     * Parses GGUF's / tokenizer.json's {@code "left right"} form (split at the first space).
     *
     * @throws IllegalArgumentException when there is no space
     */
    public static Merge parse(String merge) {
      int space = merge.indexOf(' ', 1);
      if (space < 0) {
        throw new IllegalArgumentException("merge '" + merge + "' is not of the form 'a b'");
      }
      return new Merge(merge.substring(0, space), merge.substring(space + 1));
    }
  }

  private static final char[] BYTE_TO_CHAR = new char[256];
  private static final int[] CHAR_TO_BYTE = new int[324];

  static {
    Arrays.fill(CHAR_TO_BYTE, -1);
    int extra = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      char c = printable ? (char) b : (char) (256 + extra++);
      BYTE_TO_CHAR[b] = c;
      CHAR_TO_BYTE[c] = b;
    }
  }

  private final String[] pieces;
  private final int[] types;
  private final List<String> patternSources;
  private final List<Pattern> patterns;
  private final Map<String, Integer> pieceToId;
  private final Map<String, Integer> mergeRanks;
  private final byte[][] bytesById;
  private final int bosId;
  private final int eosId;
  private final int unkId;
  private final boolean addBos;
  private final SpecialTokenSplitter userDefinedSplitter;
  private final SpecialTokenSplitter specialSplitter;
  private final Map<String, int[]> cache = new ConcurrentHashMap<>();

  /**
   * Builds the tables.
   *
   * @param pieces the token texts (normal tokens in byte-stand-in form), indexed by id
   * @param types the {@link TokenType} code of each token
   * @param merges the merge rules, best (rank 0) first
   * @param preTokenizerPatterns regexes applied one after the other (see the class comment); empty
   *     means each raw fragment is one pre-token
   * @param bosId the BOS id, or -1
   * @param eosId the EOS id, or -1
   * @param unkId the unknown token's id, or -1
   * @param addBos whether {@link #encode(String)} adds BOS
   * @throws IllegalArgumentException when the arrays disagree in length, an id is out of range or a
   *     pattern does not compile
   */
  public ByteLevelBpeTokenizer(
      String[] pieces,
      int[] types,
      List<Merge> merges,
      List<String> preTokenizerPatterns,
      int bosId,
      int eosId,
      int unkId,
      boolean addBos) {
    this.pieces = pieces.clone();
    this.types = types.clone();
    int n = pieces.length;
    if (types.length != n) {
      throw new IllegalArgumentException(n + " pieces but " + types.length + " token types");
    }
    for (int id : new int[] {bosId, eosId, unkId}) {
      if (id < -1 || id >= n) {
        throw new IllegalArgumentException("special token id " + id + " is not in 0.." + (n - 1));
      }
    }
    this.bosId = bosId;
    this.eosId = eosId;
    this.unkId = unkId;
    this.addBos = addBos;
    this.patternSources = List.copyOf(preTokenizerPatterns);
    this.patterns = patternSources.stream().map(ByteLevelBpeTokenizer::compile).toList();
    pieceToId = HashMap.newHashMap(n);
    for (int id = 0; id < n; id++) {
      if (this.pieces[id] == null) {
        throw new IllegalArgumentException("token " + id + " has no text");
      }
      if (types[id] != TokenType.UNUSED.code() || !pieceToId.containsKey(this.pieces[id])) {
        pieceToId.put(this.pieces[id], id); // a later duplicate wins, as in llama.cpp
      }
    }
    mergeRanks = HashMap.newHashMap(merges.size());
    for (int rank = 0; rank < merges.size(); rank++) {
      Merge m = merges.get(rank);
      mergeRanks.putIfAbsent(m.left() + " " + m.right(), rank);
    }
    bytesById = new byte[n][];
    for (int id = 0; id < n; id++) {
      bytesById[id] = surfaceBytes(this.pieces[id], TokenType.fromCode(types[id]));
    }
    userDefinedSplitter = new SpecialTokenSplitter(this.pieces, idsOfType(TokenType.USER_DEFINED));
    specialSplitter =
        new SpecialTokenSplitter(this.pieces, idsOfType(TokenType.CONTROL, TokenType.USER_DEFINED));
  }

  /**
   * Reads a GGUF file with {@code tokenizer.ggml.model = gpt2}: {@code tokens}, {@code token_type}
   * (all normal when absent), {@code merges}, {@code pre} (see {@link #preTokenizerPatterns}), the
   * BOS/EOS/unknown ids and {@code add_bos_token} (false when absent).
   *
   * @throws ModelFormatException when the arrays disagree in length or a merge is malformed
   */
  public static ByteLevelBpeTokenizer fromGguf(GgufFile gguf) {
    String[] pieces = gguf.getStringArray("tokenizer.ggml.tokens");
    int[] types;
    if (gguf.has("tokenizer.ggml.token_type")) {
      types = gguf.getIntArray("tokenizer.ggml.token_type");
    } else {
      types = new int[pieces.length];
      Arrays.fill(types, TokenType.NORMAL.code());
    }
    try {
      String[] mergeStrings =
          gguf.has("tokenizer.ggml.merges")
              ? gguf.getStringArray("tokenizer.ggml.merges")
              : new String[0];
      List<Merge> merges = new ArrayList<>(mergeStrings.length);
      for (String m : mergeStrings) {
        merges.add(Merge.parse(m));
      }
      return new ByteLevelBpeTokenizer(
          pieces,
          types,
          merges,
          preTokenizerPatterns(gguf.findString("tokenizer.ggml.pre").orElse(null)),
          gguf.findInt("tokenizer.ggml.bos_token_id").orElse(-1),
          gguf.findInt("tokenizer.ggml.eos_token_id").orElse(-1),
          gguf.findInt("tokenizer.ggml.unknown_token_id").orElse(-1),
          gguf.findBoolean("tokenizer.ggml.add_bos_token").orElse(false));
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(gguf.path() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads a Hugging Face {@code tokenizer.json} (and optionally its {@code tokenizer_config.json});
   * see {@link HfTokenizerJson}.
   *
   * @throws IllegalArgumentException when the model type is not BPE or the file is malformed
   * @throws java.io.UncheckedIOException when a file cannot be read
   */
  public static ByteLevelBpeTokenizer fromTokenizerJson(
      Path tokenizerJson, Path tokenizerConfigJsonOrNull) {
    return HfTokenizerJson.load(tokenizerJson, tokenizerConfigJsonOrNull);
  }

  /**
   * The pre-tokenizer regexes for GGUF {@code tokenizer.ggml.pre}: {@code llama-bpe}, {@code
   * llama3}, {@code llama-v3}, {@code smaug-bpe} → {@link #LLAMA3_PATTERN}; {@code qwen2}, {@code
   * deepseek-r1-qwen} → {@link #QWEN2_PATTERN}; {@code smollm} → {@link #SINGLE_DIGIT_PATTERN} then
   * {@link #GPT2_PATTERN} (as llama.cpp does, and as SmolLM's tokenizer.json has a {@code Digits}
   * pre-tokenizer before {@code ByteLevel}); {@code gpt2}, {@code default}, null and any name not
   * listed here → {@link #GPT2_PATTERN} (an unknown name is not an error, but its model may
   * tokenize slightly differently from its reference tokenizer).
   */
  public static List<String> preTokenizerPatterns(String pre) {
    if (pre == null) {
      return List.of(GPT2_PATTERN);
    }
    return switch (pre) {
      case "llama-bpe", "llama3", "llama-v3", "smaug-bpe" -> List.of(LLAMA3_PATTERN);
      case "qwen2", "deepseek-r1-qwen" -> List.of(QWEN2_PATTERN);
      case "smollm" -> List.of(SINGLE_DIGIT_PATTERN, GPT2_PATTERN);
      default -> List.of(GPT2_PATTERN);
    };
  }

  /** Compiles a PCRE-dialect pattern, rewriting {@code \s} and {@code \S} (see class comment). */
  static Pattern compile(String pcre) {
    StringBuilder java = new StringBuilder(pcre.length() + 32);
    for (int i = 0; i < pcre.length(); i++) {
      char c = pcre.charAt(i);
      if (c == '\\' && i + 1 < pcre.length()) {
        char next = pcre.charAt(++i);
        switch (next) {
          case 's' -> java.append("\\p{IsWhite_Space}");
          case 'S' -> java.append("\\P{IsWhite_Space}");
          default -> java.append(c).append(next);
        }
      } else {
        java.append(c);
      }
    }
    try {
      return Pattern.compile(java.toString());
    } catch (java.util.regex.PatternSyntaxException e) {
      throw new IllegalArgumentException("pre-tokenizer regex does not compile: " + pcre, e);
    }
  }

  /** GPT-2's stand-in character for byte {@code b} (0..255). */
  public static char byteToChar(int b) {
    return BYTE_TO_CHAR[Objects.checkIndex(b, 256)];
  }

  /** The stand-in string of {@code bytes}. */
  public static String bytesToPiece(byte[] bytes) {
    char[] chars = new char[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
    }
    return new String(chars);
  }

  private static byte[] surfaceBytes(String piece, TokenType type) {
    return switch (type) {
      case NORMAL, BYTE -> pieceToBytes(piece);
      case USER_DEFINED -> piece.getBytes(StandardCharsets.UTF_8);
      case CONTROL, UNKNOWN, UNUSED, UNDEFINED -> new byte[0];
    };
  }

  /** Maps stand-in characters back to bytes; other characters give their UTF-8. */
  static byte[] pieceToBytes(String piece) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length());
    for (int i = 0; i < piece.length(); ) {
      int cp = piece.codePointAt(i);
      int b = cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp] : -1;
      if (b >= 0) {
        out.write(b);
      } else {
        out.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
      }
      i += Character.charCount(cp);
    }
    return out.toByteArray();
  }

  private int[] idsOfType(TokenType... wanted) {
    return IntStream.range(0, types.length)
        .filter(
            id -> {
              for (TokenType t : wanted) {
                if (types[id] == t.code()) {
                  return true;
                }
              }
              return false;
            })
        .toArray();
  }

  /**
   * {@inheritDoc}
   *
   * <p>User-defined tokens are always matched; with {@code parseSpecial}, control tokens are
   * matched too (longest text first, as llama.cpp does). No space is added before the text.
   *
   * @throws IllegalArgumentException when a byte has no token and there is no unknown token
   */
  @Override
  public int[] encode(String text, boolean addBos, boolean parseSpecial) {
    Objects.requireNonNull(text, "text");
    IdBuffer out = new IdBuffer();
    if (addBos && bosId >= 0) {
      out.add(bosId);
    }
    SpecialTokenSplitter splitter = parseSpecial ? specialSplitter : userDefinedSplitter;
    for (SpecialTokenSplitter.Fragment fragment : splitter.split(text)) {
      if (fragment.isToken()) {
        out.add(fragment.token());
        continue;
      }
      for (String word : preTokenize(fragment.text())) {
        for (int id : encodeWord(word)) {
          out.add(id);
        }
      }
    }
    return out.toArray();
  }

  /** The pre-tokens of one raw fragment, in order (never empty strings). */
  List<String> preTokenize(String text) {
    List<String> words = new ArrayList<>();
    words.add(text);
    for (Pattern pattern : patterns) {
      List<String> next = new ArrayList<>(words.size() * 2);
      for (String word : words) {
        Matcher m = pattern.matcher(word);
        int from = 0;
        while (m.find()) {
          if (m.end() == m.start()) {
            continue;
          }
          if (m.start() > from) {
            next.add(word.substring(from, m.start()));
          }
          next.add(word.substring(m.start(), m.end()));
          from = m.end();
        }
        if (from < word.length()) {
          next.add(word.substring(from));
        }
      }
      words = next;
    }
    return words;
  }

  private int[] encodeWord(String word) {
    int[] cached = cache.get(word);
    if (cached != null) {
      return cached;
    }
    int[] ids = mergeWord(word);
    if (cache.size() >= CACHE_LIMIT) {
      cache.clear();
    }
    cache.put(word, ids);
    return ids;
  }

  private int[] mergeWord(String word) {
    String mapped = bytesToPiece(word.getBytes(StandardCharsets.UTF_8));
    List<String> symbols = new ArrayList<>(mapped.length());
    for (int i = 0; i < mapped.length(); i++) {
      symbols.add(String.valueOf(mapped.charAt(i)));
    }
    while (symbols.size() > 1) {
      int best = -1;
      int bestRank = Integer.MAX_VALUE;
      for (int i = 0; i + 1 < symbols.size(); i++) {
        Integer rank = mergeRanks.get(symbols.get(i) + " " + symbols.get(i + 1));
        if (rank != null && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) {
        break;
      }
      symbols.set(best, symbols.get(best) + symbols.remove(best + 1));
    }
    IdBuffer ids = new IdBuffer();
    for (String symbol : symbols) {
      Integer id = pieceToId.get(symbol);
      if (id != null) {
        ids.add(id);
        continue;
      }
      for (int i = 0; i < symbol.length(); i++) {
        String single = String.valueOf(symbol.charAt(i));
        Integer charId = pieceToId.get(single);
        if (charId != null) {
          ids.add(charId);
        } else if (unkId >= 0) {
          ids.add(unkId);
        } else {
          throw new IllegalArgumentException(
              "byte 0x%02X has no token ('%s') and the vocabulary has no unknown token"
                  .formatted(CHAR_TO_BYTE[single.charAt(0)], single));
        }
      }
    }
    return ids.toArray();
  }

  @Override
  public byte[] tokenBytes(int id) {
    return bytesById[Objects.checkIndex(id, bytesById.length)].clone();
  }

  /**
   * {@inheritDoc}
   *
   * <p>{@code stripLeadingSpace} has no effect: the BPE encoder adds no space, so a leading space
   * in the decoded text was in the original text. (Stream these tokens with {@code new
   * StreamingDetokenizer(tokenizer, false)}: that class strips a leading space itself when asked.)
   */
  @Override
  public String decode(int[] ids, boolean stripLeadingSpace) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
    for (int id : ids) {
      bytes.writeBytes(bytesById[Objects.checkIndex(id, bytesById.length)]);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Override
  public int vocabSize() {
    return pieces.length;
  }

  @Override
  public int bosId() {
    return bosId;
  }

  @Override
  public int eosId() {
    return eosId;
  }

  @Override
  public boolean addBosByDefault() {
    return addBos;
  }

  /** True for control tokens ({@link TokenType#CONTROL}), such as {@code <|begin_of_text|>}. */
  @Override
  public boolean isSpecial(int id) {
    return types[Objects.checkIndex(id, types.length)] == TokenType.CONTROL.code();
  }

  @Override
  public String piece(int id) {
    return pieces[Objects.checkIndex(id, pieces.length)];
  }

  /** The token's {@link TokenType}. */
  public TokenType tokenType(int id) {
    return TokenType.fromCode(types[Objects.checkIndex(id, types.length)]);
  }

  /** The pre-tokenizer regexes in use, as given (before the {@code \s} rewrite). */
  public List<String> preTokenizerPatterns() {
    return patternSources;
  }

  /** The number of merge rules. */
  public int mergeCount() {
    return mergeRanks.size();
  }
}
