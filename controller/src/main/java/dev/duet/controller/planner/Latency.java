package dev.duet.controller.planner;

/**
 * Latencies observed in a window. Immutable.
 *
 * @param samples how many requests they come from
 * @param meanMs their mean, milliseconds (0 without samples)
 * @param atAttainmentMs the latency at the SLO's attainment percentile, milliseconds
 */
public record Latency(int samples, double meanMs, double atAttainmentMs) {
  public static final Latency NONE = new Latency(0, 0, 0);

  public Latency {
    if (samples < 0 || !(meanMs >= 0) || !(atAttainmentMs >= 0)) {
      throw new IllegalArgumentException(
          "latency needs samples >= 0 and times >= 0, got "
              + samples
              + ", "
              + meanMs
              + ", "
              + atAttainmentMs);
    }
  }
}
