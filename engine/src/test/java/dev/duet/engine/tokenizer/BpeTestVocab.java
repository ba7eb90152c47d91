package dev.duet.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small byte-level BPE vocabulary whose encodings the tests work out by hand: ids 0..255 are the
 * byte symbols in byte order (so byte {@code b} is token {@code b}), then one token per merge in
 * merge order, then {@code <|begin_of_text|>} and {@code <|end_of_text|>} (control) and {@code
 * <sep>} (user-defined).
 */
final class BpeTestVocab {

  static final String[] MERGES = {
    "h e", "l l", "he ll", "Ġ w", "o r", "Ġw or", "hell o", "l d", "Ġwor ld", "e l", "1 2", "12 3",
    "4 5", "45 6", "' s", "i t", "Ċ Ċ", "Ġ Ġ"
  };
  static final int HE = 256;
  static final int LL = 257;
  static final int HELL = 258;
  static final int SPACE_W = 259;
  static final int OR = 260;
  static final int SPACE_WOR = 261;
  static final int HELLO = 262;
  static final int LD = 263;
  static final int SPACE_WORLD = 264;
  static final int EL = 265;
  static final int D12 = 266;
  static final int D123 = 267;
  static final int D45 = 268;
  static final int D456 = 269;
  static final int APOS_S = 270;
  static final int IT = 271;
  static final int NL_NL = 272;
  static final int SPACE_SPACE = 273;
  static final int BOS = 274;
  static final int EOS = 275;
  static final int SEP = 276;

  private BpeTestVocab() {}

  /** The pieces, by id. */
  static String[] pieces() {
    List<String> pieces = new ArrayList<>();
    for (int b = 0; b < 256; b++) {
      pieces.add(String.valueOf(ByteLevelBpeTokenizer.byteToChar(b)));
    }
    for (String m : MERGES) {
      pieces.add(m.replace(" ", ""));
    }
    pieces.add("<|begin_of_text|>");
    pieces.add("<|end_of_text|>");
    pieces.add("<sep>");
    return pieces.toArray(String[]::new);
  }

  /** The token types, by id. */
  static int[] types() {
    int[] types = new int[SEP + 1];
    Arrays.fill(types, TokenType.NORMAL.code());
    types[BOS] = TokenType.CONTROL.code();
    types[EOS] = TokenType.CONTROL.code();
    types[SEP] = TokenType.USER_DEFINED.code();
    return types;
  }

  static List<ByteLevelBpeTokenizer.Merge> merges() {
    return Arrays.stream(MERGES).map(ByteLevelBpeTokenizer.Merge::parse).toList();
  }

  /** The normal tokens as tokenizer.json's {@code model.vocab}. */
  static Map<String, Integer> normalVocab() {
    Map<String, Integer> vocab = new LinkedHashMap<>();
    String[] pieces = pieces();
    for (int id = 0; id < BOS; id++) {
      vocab.put(pieces[id], id);
    }
    return vocab;
  }

  static ByteLevelBpeTokenizer tokenizer(String pre, boolean addBos) {
    return new ByteLevelBpeTokenizer(
        pieces(),
        types(),
        merges(),
        ByteLevelBpeTokenizer.preTokenizerPatterns(pre),
        BOS,
        EOS,
        -1,
        addBos);
  }
}
