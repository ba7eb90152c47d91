package dev.duet.controller.planner;

/**
 * How one role of one group was sized (see {@code docs/planner.md}). Immutable.
 *
 * @param capacityPerInstance measured (or default) tokens/s one instance does
 * @param correction observed-vs-expected latency factor applied to it
 * @param utilization the share of corrected capacity the plan uses
 * @param need fractional instances the forecast needs
 * @param required {@code ceil(need)}, before bounds, hysteresis and the budget
 */
public record Sizing(
    double capacityPerInstance, double correction, double utilization, double need, int required) {
  public Sizing {
    if (!(capacityPerInstance > 0) || !(correction > 0) || !(utilization > 0) || !(need >= 0)) {
      throw new IllegalArgumentException(
          "sizing needs positive capacity, correction, utilization and need >= 0; got "
              + capacityPerInstance
              + ", "
              + correction
              + ", "
              + utilization
              + ", "
              + need);
    }
  }

  static Sizing of(double capacity, double correction, double utilization, double need) {
    return new Sizing(
        capacity, correction, utilization, need, (int) Math.ceil(Math.max(0, need - 1e-9)));
  }
}
