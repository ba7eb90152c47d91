package dev.duet.controller.planner;

import dev.duet.controller.policy.Policy;
import dev.duet.controller.registry.InstanceRole;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One planning round per interval, end to end and still without I/O: per group, reads the {@link
 * LoadTracker}'s window, feeds it to the {@link Predictor}, forecasts the most each rate reaches
 * over the planning horizon (the coming interval's middle to one and a half intervals ahead, and
 * for a role that comes through slow flips as far past that as its flips take: {@link #flipTook})
 * and asks the {@link Planner}; keeps the history between rounds and the last decision (what {@code
 * GET planner} shows). {@link #dryRun} answers what a candidate policy would decide now without
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

  /**
   * How long a flip to each role takes here, ms: an exponential average of the flips done ({@link
   * #flipTook}); none until one is.
   */
  private final Map<InstanceRole, Double> flipMillis = new HashMap<>();

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
    last = withLead(Planner.plan(input(policy, nowMillis, observed, instances)), policy);
    history = last.history();
    return last;
  }

  /** Weight of the newest flip in {@link #flipMillis}. */
  static final double FLIP_WEIGHT = 0.5;

  /** The most a slow flip extends the horizon, in intervals. */
  static final int MAX_LEAD_INTERVALS = 4;

  /**
   * Records that a flip to {@code role} took {@code millis}, start to done. A decode → prefill flip
   * drains its instance by live migration (seconds: {@code duet bench tidal} measured 6-14 s on one
   * 2-core machine, 0.2-3.3 s on another), a prefill → decode one only finishes its queue (tens of
   * ms); the forecast of the rate a role serves is read that much further ahead ({@link #peak}), so
   * that a rise is met by an instance that is there by then, not one still draining.
   */
  public synchronized void flipTook(InstanceRole role, long millis) {
    if (role == InstanceRole.BOTH || millis < 0) {
      return;
    }
    flipMillis.merge(
        role, (double) millis, (old, now) -> FLIP_WEIGHT * now + (1 - FLIP_WEIGHT) * old);
  }

  /** How far past the horizon the forecast of {@code role}'s rate is read, ms. */
  private long leadMillis(InstanceRole role, long intervalMillis) {
    double m = flipMillis.getOrDefault(role, 0.0);
    return Math.round(Math.min(m, (double) MAX_LEAD_INTERVALS * intervalMillis));
  }

  /**
   * The horizon's end for {@code role}'s rate, in quarter intervals ahead: its flips' lead in whole
   * quarters (a flip of tens of ms moves nothing).
   */
  private int horizonQuarters(InstanceRole role, long intervalMillis) {
    long quarter = Math.max(1, intervalMillis / 4);
    long lead = leadMillis(role, intervalMillis);
    return HORIZON_TO_QUARTERS + (int) Math.round((double) lead / quarter);
  }

  /** {@code d} with the horizon's lead, when there is one, first among its reasons. */
  private Decision withLead(Decision d, Policy p) {
    long interval = p.planner().intervalMillis();
    int prefill = horizonQuarters(InstanceRole.PREFILL, interval);
    int decode = horizonQuarters(InstanceRole.DECODE, interval);
    if (prefill == HORIZON_TO_QUARTERS && decode == HORIZON_TO_QUARTERS) {
      return d;
    }
    List<String> why = new ArrayList<>();
    why.add(
        String.format(
            Locale.ROOT,
            "horizon: prompt rates read to %.1f s ahead, output rates to %.1f s (flips to prefill"
                + " take %.1f s here, to decode %.1f s)",
            prefill * interval / 4e3,
            decode * interval / 4e3,
            flipMillis.getOrDefault(InstanceRole.PREFILL, 0.0) / 1e3,
            flipMillis.getOrDefault(InstanceRole.DECODE, 0.0) / 1e3));
    why.addAll(d.why());
    return new Decision(d.atMillis(), d.groups(), d.actions(), why, d.history());
  }

  /** What {@code candidate} would decide now; changes nothing. */
  public synchronized Decision dryRun(
      Policy candidate, long nowMillis, List<InstanceState> instances) {
    return withLead(
        Planner.plan(input(candidate, nowMillis, observe(candidate, nowMillis), instances)),
        candidate);
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
   *
   * <p>The prompt rate (prefill's) is read further by the time flips to prefill take here, the
   * output rate (decode's) by the time flips to decode take ({@link #flipTook}, at most {@link
   * #MAX_LEAD_INTERVALS} intervals), and arrivals as far as either: a decode instance flipped to
   * prefill serves prompts only once its streams have migrated away, so a prompt rate that rises in
   * that time must be sized for now.
   */
  private LoadRates peak(String group, long nowMillis, long intervalMillis) {
    int toPrompt = horizonQuarters(InstanceRole.PREFILL, intervalMillis);
    int toOutput = horizonQuarters(InstanceRole.DECODE, intervalMillis);
    double arrivals = 0;
    double prompt = 0;
    double output = 0;
    for (int k = HORIZON_FROM_QUARTERS; k <= Math.max(toPrompt, toOutput); k++) {
      LoadRates r = predictor.forecast(group, nowMillis + k * intervalMillis / 4);
      arrivals = Math.max(arrivals, r.arrivalsPerS());
      if (k <= toPrompt) {
        prompt = Math.max(prompt, r.promptTokensPerS());
      }
      if (k <= toOutput) {
        output = Math.max(output, r.outputTokensPerS());
      }
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
