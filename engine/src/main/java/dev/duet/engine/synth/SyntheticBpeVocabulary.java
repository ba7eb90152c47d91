package dev.duet.engine.synth;

import dev.duet.engine.tokenizer.ByteLevelBpeTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * A byte-level BPE vocabulary for synthetic Hugging Face models: ids 0..255 are the 256 byte
 * symbols in byte order, then one token per merge (each extends an earlier token by one symbol, so
 * every merge's parts exist), then the special tokens {@link #SPECIALS} at the end.
 *
 * <p>The merged tokens are {@link SyntheticVocabulary}'s word pieces with {@code Ġ} for the space,
 * so synthetic text tokenizes into a few tokens per word as it does with real vocabularies.
 *
 * @param pieces token strings by id (byte-level symbols)
 * @param merges merge rules in rank order, {@code "left right"}
 */
public record SyntheticBpeVocabulary(List<String> pieces, List<String> merges) {

  /** The special tokens, last in the vocabulary: BOS, EOS, then ChatML's two markers. */
  public static final List<String> SPECIALS =
      List.of("<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>");

  public SyntheticBpeVocabulary {
    pieces = List.copyOf(pieces);
    merges = List.copyOf(merges);
  }

  /** The first {@code size} tokens. */
  public static SyntheticBpeVocabulary build(int size) {
    int mergeCount = size - 256 - SPECIALS.size();
    if (mergeCount < 0) {
      throw new IllegalArgumentException(
          "a byte-level vocabulary needs at least "
              + (256 + SPECIALS.size())
              + " tokens, not "
              + size);
    }
    List<String> pieces = new ArrayList<>(size);
    for (int b = 0; b < 256; b++) {
      pieces.add(String.valueOf(ByteLevelBpeTokenizer.byteToChar(b)));
    }
    String space = String.valueOf(ByteLevelBpeTokenizer.byteToChar(' '));
    List<String> merges = new ArrayList<>(mergeCount);
    for (String p : SyntheticVocabulary.normalPieces(size + 256)) {
      if (merges.size() == mergeCount) {
        break;
      }
      String piece = p.replace(SyntheticVocabulary.SPACE, space);
      if (piece.length() < 2) {
        continue;
      }
      int last = piece.length() - 1;
      merges.add(piece.substring(0, last) + " " + piece.substring(last));
      pieces.add(piece);
    }
    if (merges.size() != mergeCount) {
      throw new IllegalArgumentException("vocabulary size " + size + " is beyond this generator");
    }
    pieces.addAll(SPECIALS);
    return new SyntheticBpeVocabulary(pieces, merges);
  }

  public int bosId() {
    return pieces.size() - SPECIALS.size();
  }

  public int eosId() {
    return bosId() + 1;
  }
}
