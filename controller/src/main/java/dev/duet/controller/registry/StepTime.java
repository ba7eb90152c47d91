package dev.duet.controller.registry;

/**
 * How long a worker's pure decode pass takes, as it measured it: {@code fixedMs + perRowMs · rows}
 * (the worker's least-squares fit over its recent passes). A GPU's pass is mostly fixed (the
 * weights are read once per pass), a CPU's mostly per row. Immutable.
 *
 * @param fixedMs the part every pass pays, ms, {@code >= 0}
 * @param perRowMs what each decode row adds, ms, {@code >= 0}
 */
public record StepTime(double fixedMs, double perRowMs) {
  /** Not measured yet. */
  public static final StepTime UNKNOWN = new StepTime(0, 0);

  public StepTime {
    if (!(fixedMs >= 0) || !(perRowMs >= 0)) {
      throw new IllegalArgumentException(
          "step times must be >= 0, got fixed " + fixedMs + " ms, per row " + perRowMs + " ms");
    }
  }

  public boolean known() {
    return fixedMs + perRowMs > 0;
  }

  /** A pass of {@code rows} rows, ms. */
  public double ms(double rows) {
    return fixedMs + perRowMs * rows;
  }
}
