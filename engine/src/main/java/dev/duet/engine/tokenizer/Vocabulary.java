package dev.duet.engine.tokenizer;

import java.util.Arrays;
import java.util.Objects;

/**
 * A tokenizer vocabulary: every token's piece text, merge score and {@link TokenType}, plus the
 * special ids and the flags that shape encoding.
 *
 * <p>It is built from these GGUF metadata keys (by the model loader, not by this package):
 *
 * <ul>
 *   <li>{@code pieces} ← {@code tokenizer.ggml.tokens} (string array)
 *   <li>{@code scores} ← {@code tokenizer.ggml.scores} (float32 array; all {@code 0} when absent)
 *   <li>{@code types} ← {@code tokenizer.ggml.token_type} (int32 array of {@link TokenType} codes;
 *       all {@code 1} = normal when absent)
 *   <li>{@code bosId} ← {@code tokenizer.ggml.bos_token_id}
 *   <li>{@code eosId} ← {@code tokenizer.ggml.eos_token_id}
 *   <li>{@code unkId} ← {@code tokenizer.ggml.unknown_token_id}
 *   <li>{@code addBos} ← {@code tokenizer.ggml.add_bos_token}
 *   <li>{@code addSpacePrefix} ← {@code tokenizer.ggml.add_space_prefix}
 * </ul>
 *
 * <p>For {@code tokenizer.ggml.model = llama} (SentencePiece) llama.cpp's defaults for absent keys
 * are BOS 1, EOS 2, UNK 0, {@code add_bos_token = true} and {@code add_space_prefix = true}. An id
 * of {@code -1} means "the model has no such token".
 *
 * <p>The arrays are copied on construction and every accessor returns a fresh copy, so a {@code
 * Vocabulary} is immutable and safe to share between threads. Use {@link #piece}, {@link #score}
 * and {@link #type} for cheap per-token access.
 */
public record Vocabulary(
    String[] pieces,
    float[] scores,
    int[] types,
    int bosId,
    int eosId,
    int unkId,
    boolean addBos,
    boolean addSpacePrefix) {

  /**
   * Validates and copies the arrays.
   *
   * @throws IllegalArgumentException when the arrays differ in length, a piece is null, a score is
   *     NaN, a type is not a {@link TokenType} code, or a special id is neither {@code -1} nor a
   *     valid index
   */
  public Vocabulary {
    Objects.requireNonNull(pieces, "pieces");
    Objects.requireNonNull(scores, "scores");
    Objects.requireNonNull(types, "types");
    if (pieces.length == 0) {
      throw new IllegalArgumentException("vocabulary is empty");
    }
    if (scores.length != pieces.length || types.length != pieces.length) {
      throw new IllegalArgumentException(
          "vocabulary arrays differ in length: pieces=%d scores=%d types=%d"
              .formatted(pieces.length, scores.length, types.length));
    }
    pieces = pieces.clone();
    scores = scores.clone();
    types = types.clone();
    for (int i = 0; i < pieces.length; i++) {
      if (pieces[i] == null) {
        throw new IllegalArgumentException("piece " + i + " is null");
      }
      if (Float.isNaN(scores[i])) {
        throw new IllegalArgumentException("score of token " + i + " is NaN");
      }
      if (types[i] < 0 || types[i] > TokenType.BYTE.code()) {
        throw new IllegalArgumentException(
            "token " + i + " has unknown type " + types[i] + " (expected 0..6)");
      }
    }
    checkId("bosId", bosId, pieces.length);
    checkId("eosId", eosId, pieces.length);
    checkId("unkId", unkId, pieces.length);
  }

  private static void checkId(String name, int id, int size) {
    if (id < -1 || id >= size) {
      throw new IllegalArgumentException(
          name + " " + id + " is out of range (vocabulary size " + size + ", or -1 for none)");
    }
  }

  /** The number of tokens. */
  public int size() {
    return pieces.length;
  }

  /** The piece text of token {@code id}. */
  public String piece(int id) {
    return pieces[Objects.checkIndex(id, pieces.length)];
  }

  /** The merge score of token {@code id}; higher merges first. */
  public float score(int id) {
    return scores[Objects.checkIndex(id, scores.length)];
  }

  /** The type of token {@code id}. */
  public TokenType type(int id) {
    return TokenType.fromCode(types[Objects.checkIndex(id, types.length)]);
  }

  /** A copy of the piece texts. */
  @Override
  public String[] pieces() {
    return pieces.clone();
  }

  /** A copy of the scores. */
  @Override
  public float[] scores() {
    return scores.clone();
  }

  /** A copy of the {@link TokenType} codes. */
  @Override
  public int[] types() {
    return types.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Vocabulary v
        && Arrays.equals(pieces, v.pieces)
        && Arrays.equals(scores, v.scores)
        && Arrays.equals(types, v.types)
        && bosId == v.bosId
        && eosId == v.eosId
        && unkId == v.unkId
        && addBos == v.addBos
        && addSpacePrefix == v.addSpacePrefix;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        Arrays.hashCode(pieces),
        Arrays.hashCode(scores),
        Arrays.hashCode(types),
        bosId,
        eosId,
        unkId,
        addBos,
        addSpacePrefix);
  }

  @Override
  public String toString() {
    return "Vocabulary[size=%d, bosId=%d, eosId=%d, unkId=%d, addBos=%b, addSpacePrefix=%b]"
        .formatted(pieces.length, bosId, eosId, unkId, addBos, addSpacePrefix);
  }
}
