package dev.duet.controller.planner;

import dev.duet.controller.policy.Policy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One planning round per interval, end to end and still without I/O: per group, reads the {@link
 * LoadTracker}'s window, feeds it to the {@link Predictor}, forecasts the most each rate reaches
 * over the planning horizon (the coming interval's middle to one and a half intervals ahead) and
 * asks the {@link Planner}; keeps the history between rounds and the last decision (what {@code GET
 * planner} shows). {@link #dryRun} answers what a candidate policy would decide now without
 * changing anything ({@code PUT policy?dryRun=true}). The caller schedules rounds, supplies the
 * instances and the time, and carries out the actions.
 *
 * <p>Thread-safe: every method is synchronized.
 */
public final class TidalPlanner {
  private final LoadTracker tracker;
  private Policy policy;
  private Predictor predictor;
  private PlannerHistory history = PlannerHistory.EMPTY;
  private Decision last;
  private long lastObservedMillis = Long.MIN_VALUE;

  public TidalPlanner(LoadTracker tracker, Policy policy) {
    this.tracker = Objects.requireNonNull(tracker, "tracker");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.predictor = new Predictor(policy.planner().predictor());
  }

  /**
   * Takes a new policy for the next round. The predictor keeps what it learnt unless the new policy
   * changes its settings (a new period or phase count makes the old profile meaningless).
   */
  public synchronized void policyChanged(Policy next) {
    if (!next.planner().predictor().equals(policy.planner().predictor())) {
      predictor = new Predictor(next.planner().predictor());
      lastObservedMillis = Long.MIN_VALUE;
    }
    policy = next;
  }

  /** Plans at {@code nowMillis} for {@code instances}; remember to carry out its actions. */
  public synchronized Decision round(long nowMillis, List<InstanceState> instances) {
    Map<String, GroupLoad> observed = observe(policy, nowMillis);
    // the window's rates describe its middle
    long at = nowMillis - tracker.windowMillis() / 2;
    if (at > lastObservedMillis) {
      observed.forEach((g, load) -> predictor.observe(g, at, load.rates()));
      lastObservedMillis = at;
    }
    last = Planner.plan(input(policy, nowMillis, observed, instances));
    history = last.history();
    return last;
  }

  /** What {@code candidate} would decide now; changes nothing. */
  public synchronized Decision dryRun(
      Policy candidate, long nowMillis, List<InstanceState> instances) {
    return Planner.plan(input(candidate, nowMillis, observe(candidate, nowMillis), instances));
  }

  /** The last round's decision, if any round has run. */
  public synchronized Optional<Decision> last() {
    return Optional.ofNullable(last);
  }

  /** Where {@link #peak} starts and ends reading the forecast, in quarter intervals ahead. */
  static final int HORIZON_FROM_QUARTERS = 2;

  static final int HORIZON_TO_QUARTERS = 6;

  /**
   * The most {@code group} is forecast to need, rate by rate, over the planning horizon: from the
   * middle of the coming interval to one and a half intervals ahead, read every quarter interval.
   * What this round decides serves until the next round's actions have taken effect (an interval,
   * plus a flip's drain), so a rising rate is sized for its top in that span rather than for the
   * interval's middle; a falling one is sized for the middle, as before (sizing it for now too
   * would hold both roles high at every turn of the mix, and a budget that can grow would be grown
   * and shrunk where a flip does).
   */
  private LoadRates peak(String group, long nowMillis, long intervalMillis) {
    double arrivals = 0;
    double prompt = 0;
    double output = 0;
    for (int k = HORIZON_FROM_QUARTERS; k <= HORIZON_TO_QUARTERS; k++) {
      LoadRates r = predictor.forecast(group, nowMillis + k * intervalMillis / 4);
      arrivals = Math.max(arrivals, r.arrivalsPerS());
      prompt = Math.max(prompt, r.promptTokensPerS());
      output = Math.max(output, r.outputTokensPerS());
    }
    return new LoadRates(arrivals, prompt, output);
  }

  private Map<String, GroupLoad> observe(Policy p, long nowMillis) {
    var observed = new HashMap<String, GroupLoad>();
    for (String g : p.groupNames()) {
      observed.put(g, tracker.group(g, nowMillis, p.sloOf(g).attainment()));
    }
    return observed;
  }

  private Planner.Input input(
      Policy p, long nowMillis, Map<String, GroupLoad> observed, List<InstanceState> instances) {
    var forecast = new HashMap<String, LoadRates>();
    for (String g : p.groupNames()) {
      forecast.put(g, peak(g, nowMillis, p.planner().intervalMillis()));
    }
    return new Planner.Input(nowMillis, p, forecast, observed, instances, history);
  }
}
