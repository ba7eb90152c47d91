package dev.duet.controller.planner;

import java.util.Objects;

/**
 * What the {@link LoadTracker} saw of one scenario group over its window. Immutable.
 *
 * @param group the group
 * @param rates arrivals and token rates over the window
 * @param ttft time to first token of the requests that got one in the window
 * @param tpot time per output token of the requests that finished in the window
 */
public record GroupLoad(String group, LoadRates rates, Latency ttft, Latency tpot) {
  public GroupLoad {
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(rates, "rates");
    Objects.requireNonNull(ttft, "ttft");
    Objects.requireNonNull(tpot, "tpot");
  }

  public static GroupLoad idle(String group) {
    return new GroupLoad(group, LoadRates.ZERO, Latency.NONE, Latency.NONE);
  }
}
