package dev.duet.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Small vocabularies shaped like real SentencePiece ones, whose encodings are worked out by hand in
 * the tests.
 */
final class TestVocabularies {

  static final int UNK = 0;
  static final int BOS = 1;
  static final int EOS = 2;
  static final int SPACE = 259;
  static final int A = 260;
  static final int B = 261;
  static final int C = 262;
  static final int D = 263;
  static final int E = 264;
  static final int H = 265;
  static final int L = 266;
  static final int O = 267;
  static final int W = 268;
  static final int R = 269;
  static final int AB = 270;
  static final int BC = 271;
  static final int SPACE_A = 272;
  static final int HE = 273;
  static final int LL = 274;
  static final int LO = 275;
  static final int SPACE_HE = 276;
  static final int SPACE_HELL = 277;
  static final int LLO = 278;
  static final int CD = 279;
  static final int DE = 280;
  static final int SPACE_W = 281;
  static final int OR = 282;
  static final int SPACE_WOR = 283;
  static final int SEP = 284;

  private TestVocabularies() {}

  /** The id of byte token {@code <0xNN>} in {@link #sentencePiece}. */
  static int byteId(int value) {
    return 3 + value;
  }

  /**
   * {@code <unk>}, {@code <s>}, {@code </s>}, the 256 byte tokens, {@code ▁}, ten letters, merges
   * with scores (see the constants), and the user-defined token {@code <sep>}.
   */
  static Vocabulary sentencePiece(boolean addSpacePrefix) {
    Builder b = new Builder();
    b.add("<unk>", 0, TokenType.UNKNOWN);
    b.add("<s>", 0, TokenType.CONTROL);
    b.add("</s>", 0, TokenType.CONTROL);
    for (int i = 0; i < 256; i++) {
      b.add("<0x%02X>".formatted(i), 0, TokenType.BYTE);
    }
    for (String letter : List.of("▁", "a", "b", "c", "d", "e", "h", "l", "o", "w", "r")) {
      b.add(letter, -1000, TokenType.NORMAL);
    }
    b.add("ab", -5, TokenType.NORMAL);
    b.add("bc", -1, TokenType.NORMAL);
    b.add("▁a", -3, TokenType.NORMAL);
    b.add("he", -2, TokenType.NORMAL);
    b.add("ll", -2, TokenType.NORMAL);
    b.add("lo", -4, TokenType.NORMAL);
    b.add("▁he", -1.5f, TokenType.NORMAL);
    b.add("▁hell", -3, TokenType.NORMAL);
    b.add("llo", -6, TokenType.NORMAL);
    b.add("cd", -2.5f, TokenType.NORMAL);
    b.add("de", -2.5f, TokenType.NORMAL);
    b.add("▁w", -2, TokenType.NORMAL);
    b.add("or", -2.2f, TokenType.NORMAL);
    b.add("▁wor", -3.5f, TokenType.NORMAL);
    b.add("<sep>", 0, TokenType.USER_DEFINED);
    return b.build(BOS, EOS, UNK, true, addSpacePrefix);
  }

  /** Collects vocabulary entries in id order. */
  static final class Builder {
    private final List<String> pieces = new ArrayList<>();
    private final List<Float> scores = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();

    Builder add(String piece, float score, TokenType type) {
      pieces.add(piece);
      scores.add(score);
      types.add(type.code());
      return this;
    }

    Vocabulary build(int bos, int eos, int unk, boolean addBos, boolean addSpacePrefix) {
      float[] s = new float[scores.size()];
      int[] t = new int[types.size()];
      for (int i = 0; i < s.length; i++) {
        s[i] = scores.get(i);
        t[i] = types.get(i);
      }
      return new Vocabulary(
          pieces.toArray(String[]::new), s, t, bos, eos, unk, addBos, addSpacePrefix);
    }
  }
}
