package dev.duet.controller.planner;

import java.util.Objects;

/**
 * The planner's view of one group in one decision: forecast, how each role was sized, and the
 * counts now and wanted. Immutable.
 *
 * @param group the scenario group
 * @param forecast the load planned for
 * @param prefill prefill sizing (capacity, correction, utilization, need)
 * @param decode decode sizing
 * @param currentPrefill prefill instances now (starting and flipping ones included)
 * @param currentDecode decode instances now
 * @param targetPrefill prefill instances wanted, after bounds, hysteresis and the budget
 * @param targetDecode decode instances wanted
 */
public record GroupPlan(
    String group,
    LoadRates forecast,
    Sizing prefill,
    Sizing decode,
    int currentPrefill,
    int currentDecode,
    int targetPrefill,
    int targetDecode) {
  public GroupPlan {
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(forecast, "forecast");
    Objects.requireNonNull(prefill, "prefill");
    Objects.requireNonNull(decode, "decode");
  }
}
