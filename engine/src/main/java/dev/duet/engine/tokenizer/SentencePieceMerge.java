package dev.duet.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * One run of the SentencePiece (BPE-by-score) merge over an escaped text fragment, as llama.cpp's
 * {@code llm_tokenizer_spm_session::tokenize}: the text is split into characters; every adjacent
 * pair whose concatenation is a vocabulary piece is queued with that piece's score; the queue pops
 * the highest score first (ties: leftmost first), stale pairs are skipped, and each merge queues
 * the new pairs with its left and right neighbours. Final symbols that are not pieces fall back to
 * byte tokens. O(n log n) in the number of characters.
 *
 * <p>Not thread-safe: create one per fragment.
 */
final class SentencePieceMerge {

  private record Bigram(int left, int right, float score, int size) {}

  /** Higher score first, then the smaller left index (llama.cpp's {@code llm_bigram_spm}). */
  private static int compare(Bigram a, Bigram b) {
    if (a.score > b.score) {
      return -1;
    }
    if (a.score < b.score) {
      return 1;
    }
    return Integer.compare(a.left, b.left);
  }

  private final String text;
  private final Map<String, Integer> pieceToId;
  private final float[] scores;
  private final int[] start;
  private final int[] length;
  private final int[] prev;
  private final int[] next;
  private final PriorityQueue<Bigram> queue = new PriorityQueue<>(SentencePieceMerge::compare);

  SentencePieceMerge(String text, Map<String, Integer> pieceToId, float[] scores) {
    this.text = text;
    this.pieceToId = pieceToId;
    this.scores = scores;
    int n = text.codePointCount(0, text.length());
    start = new int[n];
    length = new int[n];
    prev = new int[n];
    next = new int[n];
    int offset = 0;
    for (int i = 0; i < n; i++) {
      int chars = Character.charCount(text.codePointAt(offset));
      start[i] = offset;
      length[i] = chars;
      offset += chars;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
  }

  /**
   * Merges and appends the resulting ids to {@code out}.
   *
   * @param byteToId the id standing for each byte value when a symbol is not a piece, or -1
   * @throws IllegalArgumentException when a byte has no token at all (no byte token, no
   *     single-character piece and no unknown token)
   */
  void tokenize(int[] byteToId, IdBuffer out) {
    int n = start.length;
    if (n == 0) {
      return;
    }
    for (int i = 1; i < n; i++) {
      tryAddBigram(i - 1, i);
    }
    while (!queue.isEmpty()) {
      Bigram bigram = queue.poll();
      int left = bigram.left();
      int right = bigram.right();
      if (length[left] == 0
          || length[right] == 0
          || length[left] + length[right] != bigram.size()) {
        continue; // stale: one side was merged since this pair was queued
      }
      length[left] += length[right];
      length[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) {
        prev[next[right]] = left;
      }
      tryAddBigram(prev[left], left);
      tryAddBigram(left, next[left]);
    }
    for (int i = 0; i != -1; i = next[i]) {
      emit(i, byteToId, out);
    }
  }

  private void tryAddBigram(int left, int right) {
    if (left == -1 || right == -1) {
      return;
    }
    int size = length[left] + length[right];
    Integer id = pieceToId.get(text.substring(start[left], start[left] + size));
    if (id != null) {
      queue.add(new Bigram(left, right, scores[id], size));
    }
  }

  /**
   * llama.cpp's {@code resegment}: the symbol's piece id, or else one token per UTF-8 byte. (Its
   * fallback to the two halves a symbol was merged from can never fire: only pairs whose text is a
   * piece are merged, so a symbol that is not a piece is a single character.)
   */
  private void emit(int symbol, int[] byteToId, IdBuffer out) {
    String piece = text.substring(start[symbol], start[symbol] + length[symbol]);
    Integer id = pieceToId.get(piece);
    if (id != null) {
      out.add(id);
      return;
    }
    for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
      int byteId = byteToId[b & 0xFF];
      if (byteId < 0) {
        throw new IllegalArgumentException(
            "cannot encode byte 0x%02X of \"%s\": the vocabulary has no byte or unknown token"
                .formatted(b & 0xFF, piece));
      }
      out.add(byteId);
    }
  }
}
