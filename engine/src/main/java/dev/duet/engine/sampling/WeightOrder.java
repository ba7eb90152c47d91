package dev.duet.engine.sampling;

import java.util.Arrays;

/**
 * Sorts candidates held in parallel arrays (ids and their softmax weights) by weight descending,
 * lower id first on equal weights. The order is total, so any correct sort gives the same result.
 * {@link #sort} is an in-place heap sort (O(n log n), no allocation) for any input; {@link
 * #sortIdOrdered} is a stable LSD radix sort on the weights' bits, for large inputs already in
 * ascending id order, where stability alone gives the id tie-break.
 *
 * <p>Instances hold the radix sort's scratch buffers and are not thread-safe; the static heap sort
 * is stateless.
 */
final class WeightOrder {

  /** Below this many candidates the heap sort is faster than the radix sort's eight passes. */
  private static final int RADIX_MIN = 2048;

  private long[] keys = new long[0];
  private long[] keyScratch = new long[0];
  private int[] idScratch = new int[0];
  private final int[] counts = new int[256];

  /**
   * Sorts {@code ids[0..n)} and {@code weights[0..n)} together, given {@code ids[0..n)} ascending
   * and every weight {@code >= +0.0} and not NaN.
   */
  void sortIdOrdered(int[] ids, double[] weights, int n) {
    if (n < RADIX_MIN) {
      sort(ids, weights, n);
      return;
    }
    if (keys.length < n) {
      keys = new long[n];
      keyScratch = new long[n];
      idScratch = new int[n];
    }
    // Non-negative doubles order like their bits; the complement turns ascending into descending.
    long[] k = keys;
    for (int i = 0; i < n; i++) {
      k[i] = ~Double.doubleToRawLongBits(weights[i]);
    }
    long[] kOut = keyScratch;
    int[] idIn = ids;
    int[] idOut = idScratch;
    for (int shift = 0; shift < 64; shift += 8) {
      Arrays.fill(counts, 0);
      for (int i = 0; i < n; i++) {
        counts[(int) (k[i] >>> shift) & 0xFF]++;
      }
      if (counts[(int) (k[0] >>> shift) & 0xFF] == n) {
        continue; // every key has the same digit here: the pass would not move anything
      }
      int sum = 0;
      for (int d = 0; d < 256; d++) {
        int c = counts[d];
        counts[d] = sum;
        sum += c;
      }
      for (int i = 0; i < n; i++) {
        int at = counts[(int) (k[i] >>> shift) & 0xFF]++;
        kOut[at] = k[i];
        idOut[at] = idIn[i];
      }
      long[] kt = k;
      k = kOut;
      kOut = kt;
      int[] it = idIn;
      idIn = idOut;
      idOut = it;
    }
    for (int i = 0; i < n; i++) {
      weights[i] = Double.longBitsToDouble(~k[i]);
    }
    if (idIn != ids) {
      System.arraycopy(idIn, 0, ids, 0, n);
    }
  }

  /** Sorts {@code ids[0..n)} and {@code weights[0..n)} together. */
  static void sort(int[] ids, double[] weights, int n) {
    for (int i = n / 2 - 1; i >= 0; i--) {
      siftDown(ids, weights, i, n);
    }
    for (int end = n - 1; end > 0; end--) {
      swap(ids, weights, 0, end);
      siftDown(ids, weights, 0, end);
    }
  }

  /** Whether the candidate at {@code a} ranks below the one at {@code b}. */
  private static boolean worse(int[] ids, double[] weights, int a, int b) {
    double wa = weights[a];
    double wb = weights[b];
    return wa < wb || (wa == wb && ids[a] > ids[b]);
  }

  /** Min-heap on rank, so the heap sort leaves the best candidate first. */
  private static void siftDown(int[] ids, double[] weights, int i, int size) {
    while (true) {
      int child = 2 * i + 1;
      if (child >= size) {
        return;
      }
      if (child + 1 < size && worse(ids, weights, child + 1, child)) {
        child++;
      }
      if (!worse(ids, weights, child, i)) {
        return;
      }
      swap(ids, weights, i, child);
      i = child;
    }
  }

  private static void swap(int[] ids, double[] weights, int a, int b) {
    int ti = ids[a];
    ids[a] = ids[b];
    ids[b] = ti;
    double tw = weights[a];
    weights[a] = weights[b];
    weights[b] = tw;
  }
}
