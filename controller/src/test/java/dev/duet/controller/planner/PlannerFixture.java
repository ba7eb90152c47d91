package dev.duet.controller.planner;

import dev.duet.controller.planner.InstanceState.Phase;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyParser;
import dev.duet.controller.registry.InstanceRole;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A small cluster the planner tests drive round by round: instances with measured capacities
 * (prefill 1000 tok/s, decode 200 tok/s, batch 32), and an executor that applies a decision's
 * actions at once (flips and starts complete, stops leave), as the real one eventually does.
 */
final class PlannerFixture {
  static final double PREFILL_CAP = 1000;
  static final double DECODE_CAP = 200;

  /** Prompt-heavy: 10 req/s × 200 prompt tokens, 20 output tokens → needs 3 prefill, 2 decode. */
  static final LoadRates PROMPT_HEAVY = new LoadRates(10, 2000, 200);

  /** Output-heavy: 2 req/s × 200 prompt tokens, 300 output tokens → needs 1 prefill, 4 decode. */
  static final LoadRates OUTPUT_HEAVY = new LoadRates(2, 400, 600);

  static final String BASE =
      """
      slo: {ttftMs: 1000, tpotMs: 100}
      roles: {prefill: {min: 1, max: 6}, decode: {min: 1, max: 6}}
      budget: {maxInstances: 6}
      planner:
        intervalSeconds: 10
        predictor: {periodSeconds: 600}
        cooldowns: {flipSeconds: 30, scaleSeconds: 60}
        maxFlipsPerInterval: 2
        hysteresis: {band: 0.2}
      """;

  final Policy policy;
  final List<InstanceState> instances = new ArrayList<>();
  PlannerHistory history = PlannerHistory.EMPTY;
  long now = 1_000_000;
  private int nextId;

  PlannerFixture(String yaml) {
    try {
      this.policy = PolicyParser.parse(yaml);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  PlannerFixture() {
    this(BASE);
  }

  PlannerFixture add(String group, InstanceRole role, int count) {
    for (int k = 0; k < count; k++) {
      instances.add(instance("i" + nextId++, group, role, now - 3_600_000));
    }
    return this;
  }

  static InstanceState instance(String id, String group, InstanceRole role, long since) {
    return new InstanceState(
        id, group, role, Phase.ACTIVE, PREFILL_CAP, DECODE_CAP, 32, 1, 0, since);
  }

  Decision plan(Map<String, LoadRates> forecast) {
    return plan(forecast, Map.of());
  }

  Decision plan(Map<String, LoadRates> forecast, Map<String, GroupLoad> observed) {
    return Planner.plan(new Planner.Input(now, policy, forecast, observed, instances, history));
  }

  /** Plans, applies the decision, keeps its history, and moves the clock one interval on. */
  Decision round(Map<String, LoadRates> forecast) {
    Decision d = plan(forecast);
    apply(d);
    now += policy.planner().intervalMillis();
    return d;
  }

  void apply(Decision d) {
    history = d.history();
    for (Action a : d.actions()) {
      switch (a) {
        case Action.Flip f ->
            replace(f.instanceId(), i -> instance(i.id(), i.group(), f.to(), now));
        case Action.ScaleDown s -> instances.removeIf(i -> i.id().equals(s.instanceId()));
        case Action.ScaleUp u -> instances.add(instance("i" + nextId++, u.group(), u.role(), now));
      }
    }
  }

  /** Every instance's requests have finished. */
  void finishEverything() {
    instances.replaceAll(
        i ->
            new InstanceState(
                i.id(),
                i.group(),
                i.role(),
                i.phase(),
                i.prefillTokensPerS(),
                i.decodeTokensPerS(),
                i.maxBatch(),
                0,
                0,
                i.roleSinceMillis()));
  }

  private void replace(String id, java.util.function.UnaryOperator<InstanceState> f) {
    instances.replaceAll(i -> i.id().equals(id) ? f.apply(i) : i);
  }

  long count(String group, InstanceRole role) {
    return instances.stream().filter(i -> i.group().equals(group) && i.role() == role).count();
  }

  static List<Action.Flip> flips(Decision d) {
    return d.actions().stream()
        .filter(Action.Flip.class::isInstance)
        .map(Action.Flip.class::cast)
        .toList();
  }

  static long scalings(Decision d) {
    return d.actions().stream().filter(a -> !(a instanceof Action.Flip)).count();
  }
}
