package dev.duet.engine.sampling;

/**
 * Picks the {@code k} highest logits without sorting the whole vocabulary: a bounded min-heap of
 * the best {@code k} seen so far, O(V log k), then a heap sort of those {@code k}. Order is logit
 * descending, lower id first on equal logits (so {@code -0.0} and {@code 0.0} tie).
 *
 * <p>Stateless; safe to use from any thread.
 */
final class TopKSelector {

  private TopKSelector() {}

  /**
   * Writes the ids of the {@code k} best logits among the first {@code vocabSize} into {@code
   * out[0..k)}, best first. Requires {@code 1 <= k <= vocabSize <= logits.length} and {@code
   * out.length >= k}.
   *
   * @throws IllegalArgumentException if a logit among the first {@code vocabSize} is NaN or +Inf
   */
  static void select(float[] logits, int vocabSize, int k, int[] out) {
    for (int i = 0; i < k; i++) {
      checkLogit(logits, i);
      out[i] = i;
    }
    for (int i = k / 2 - 1; i >= 0; i--) {
      siftDown(logits, out, i, k);
    }
    for (int id = k; id < vocabSize; id++) {
      checkLogit(logits, id);
      if (worse(logits, out[0], id)) {
        out[0] = id;
        siftDown(logits, out, 0, k);
      }
    }
    // Heap sort: repeatedly move the worst remaining to the end, leaving the best at 0.
    for (int end = k - 1; end > 0; end--) {
      int t = out[0];
      out[0] = out[end];
      out[end] = t;
      siftDown(logits, out, 0, end);
    }
  }

  /** Whether id {@code a} ranks below id {@code b}. */
  private static boolean worse(float[] logits, int a, int b) {
    float la = logits[a];
    float lb = logits[b];
    return la < lb || (la == lb && a > b);
  }

  /** Min-heap on rank: the worst id sits at the root. */
  private static void siftDown(float[] logits, int[] heap, int i, int size) {
    int id = heap[i];
    while (true) {
      int child = 2 * i + 1;
      if (child >= size) {
        break;
      }
      if (child + 1 < size && worse(logits, heap[child + 1], heap[child])) {
        child++;
      }
      if (!worse(logits, heap[child], id)) {
        break;
      }
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = id;
  }

  static void checkLogit(float[] logits, int id) {
    float x = logits[id];
    if (Float.isNaN(x) || x == Float.POSITIVE_INFINITY) {
      throw new IllegalArgumentException(
          "logits[" + id + "] must be finite or -Infinity, got " + x);
    }
  }
}
