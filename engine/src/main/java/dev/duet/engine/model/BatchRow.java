package dev.duet.engine.model;

import dev.duet.engine.kv.KvSequence;

/**
 * One token to run through the model in a forward pass: a decode step's token, or one token of a
 * prefill chunk.
 *
 * <p>Rows of one sequence in a batch must be consecutive positions in order, and the sequence must
 * hold KV for every earlier position and have capacity up to {@code pos}.
 *
 * @param kv the sequence's KV block table
 * @param pos the token's position in its sequence, from 0
 * @param token the token id
 * @param wantLogits whether the caller needs this row's logits (the last row of a prompt, every
 *     decode row); others skip the output head
 */
public record BatchRow(KvSequence kv, int pos, int token, boolean wantLogits) {
  public BatchRow {
    if (kv == null) {
      throw new IllegalArgumentException("kv must not be null");
    }
    if (pos < 0) {
      throw new IllegalArgumentException("pos must be >= 0, got " + pos);
    }
    if (token < 0) {
      throw new IllegalArgumentException("token must be >= 0, got " + token);
    }
  }
}
