package dev.duet.worker;

/**
 * Fits the time of a pure decode pass to {@code fixed + perRow · rows} by exponentially weighted
 * least squares over the passes seen, newest weighing most. The fit is what a planner needs to size
 * decode: on a GPU a pass costs nearly the same at any batch (the weights are read once), so
 * throughput grows with the batch; on a CPU it grows with the rows, so throughput is flat. Measured
 * tokens per second at today's batch says neither.
 *
 * <p>Until passes of at least two batch sizes have been seen the rows cannot be told from the fixed
 * part, and the fit is proportional ({@code fixed = 0}): the cautious reading, as it never promises
 * more throughput from a larger batch. Once a fit exists it is kept while the batch stays the same.
 *
 * <p>Not thread-safe: the step loop's thread feeds it; readers take {@link #fixedMs} and {@link
 * #perRowMs} through the loop's published load.
 */
final class DecodeStepFit {
  /** Weight of the newest pass. */
  private static final double WEIGHT = 0.05;

  /** Variance of the batch size (rows²) below which the rows' share cannot be separated. */
  private static final double MIN_VARIANCE = 0.25;

  private double n;
  private double sumRows;
  private double sumMs;
  private double sumRowsSq;
  private double sumRowsMs;
  private double fixedMs;
  private double perRowMs;
  private boolean separated;

  /** One pass of {@code rows} decode rows (no prefill tokens) that took {@code ms}. */
  void add(int rows, double ms) {
    if (rows < 1 || !(ms > 0)) {
      return;
    }
    double keep = n == 0 ? 0 : 1 - WEIGHT;
    double w = n == 0 ? 1 : WEIGHT;
    n = keep * n + w;
    sumRows = keep * sumRows + w * rows;
    sumMs = keep * sumMs + w * ms;
    sumRowsSq = keep * sumRowsSq + w * rows * (double) rows;
    sumRowsMs = keep * sumRowsMs + w * rows * ms;
    double meanRows = sumRows / n;
    double meanMs = sumMs / n;
    double variance = sumRowsSq / n - meanRows * meanRows;
    if (variance >= MIN_VARIANCE) {
      double slope = (sumRowsMs / n - meanRows * meanMs) / variance;
      perRowMs = Math.max(0, slope);
      fixedMs = Math.max(0, meanMs - perRowMs * meanRows);
      separated = true;
    } else if (!separated) {
      perRowMs = meanMs / meanRows;
      fixedMs = 0;
    }
  }

  /** The fixed part of a decode pass, ms (0 until measured, or while it cannot be separated). */
  double fixedMs() {
    return fixedMs;
  }

  /** What each decode row adds to a pass, ms (0 until measured). */
  double perRowMs() {
    return perRowMs;
  }
}
