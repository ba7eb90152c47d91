package dev.duet.controller.tidal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.controller.events.ClusterEvent;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.InMemoryEventLog;
import dev.duet.controller.planner.Decision;
import dev.duet.controller.planner.InstanceState;
import dev.duet.controller.planner.LoadTracker;
import dev.duet.controller.planner.Scaler;
import dev.duet.controller.planner.TidalPlanner;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.roles.RoleFlipper;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The planner loop against a real registry, tracker and planner, with recording fakes of the
 * flipper, scaler and drainer: it carries out each decision's flips and scalings, counts work in
 * progress as the planner needs it, stays within the policy, drains before it stops, and logs each
 * step with the decision's reasons.
 */
class PlannerLoopTest {
  private static final long T0 = 10_000_000;

  private final InMemoryEventLog events = InMemoryEventLog.withDefaults();
  private final InstanceRegistry registry = new InstanceRegistry(() -> 0L, events);
  private final LoadTracker tracker = new LoadTracker(Duration.ofSeconds(10));
  private final PolicyStore policies = new PolicyStore(Clock.systemUTC());
  private final List<String> calls = new ArrayList<>();
  private final Map<String, Promise<RoleFlipper.FlipResult>> flips = new LinkedHashMap<>();
  private long now = T0;
  private int started;

  private final RoleFlipper flipper =
      (id, to) -> {
        calls.add("flip " + id + " " + to);
        Promise<RoleFlipper.FlipResult> p = Promise.promise();
        flips.put(id, p);
        return p.future();
      };

  private final Scaler scaler =
      new Scaler() {
        @Override
        public CompletableFuture<String> start(String group, InstanceRole role) {
          String id = "new-" + started++;
          calls.add("start " + id + " " + role);
          return CompletableFuture.completedFuture(id);
        }

        @Override
        public CompletableFuture<Void> stop(String id) {
          calls.add("stop " + id);
          return CompletableFuture.completedFuture(null);
        }
      };

  private final Drainer drainer =
      id -> {
        calls.add("drain " + id);
        return Future.succeededFuture();
      };

  private PlannerLoop loop(String yaml) {
    assertThat(policies.replace(yaml, "test")).isInstanceOf(PolicyStore.Outcome.Accepted.class);
    return new PlannerLoop(
        new TidalPlanner(tracker, policies.current().policy()),
        policies,
        registry,
        tracker,
        flipper,
        scaler,
        drainer,
        events,
        () -> now);
  }

  private static String policy(int budget, int maxFlips) {
    return """
        slo: {ttftMs: 1000, tpotMs: 100}
        budget: {maxInstances: %d}
        planner:
          intervalSeconds: 10
          predictor: {periodSeconds: 600}
          cooldowns: {flipSeconds: 30, scaleSeconds: 60}
          maxFlipsPerInterval: %d
        """
        .formatted(budget, maxFlips);
  }

  private void worker(String id, InstanceRole role) {
    registry.register(new InstanceDescriptor(id, role, "http://127.0.0.1:1", "m", 512, 16, 32));
    tracker.reportInstance(id, now, 1000, 200);
  }

  /** Ten seconds of output-heavy traffic: 2 req/s × 200 prompt, 300 output tokens. */
  private void outputHeavy() {
    for (int i = 0; i < 20; i++) {
      long at = now - 10_000 + i * 500L;
      tracker.recordArrival("default", at, 200);
      tracker.recordOutputTokens("default", at, 300);
    }
  }

  private List<String> details(EventKind kind) {
    return events.page(0, 1000).events().stream()
        .filter(e -> e.kind() == kind)
        .map(ClusterEvent::detail)
        .toList();
  }

  @Test
  void flipsGoThroughTheFlipperWithinTheCapAndCountAsFlippingUntilDone() {
    PlannerLoop loop = loop(policy(4, 1));
    for (String id : List.of("p0", "p1", "p2")) {
      worker(id, InstanceRole.PREFILL);
    }
    worker("d0", InstanceRole.DECODE);
    outputHeavy();

    Decision d = loop.round();

    assertThat(calls).hasSize(1).allMatch(c -> c.startsWith("flip p") && c.endsWith(" DECODE"));
    assertThat(d.group("default").targetDecode()).isGreaterThan(1);
    String flipping = calls.getFirst().split(" ")[1];
    assertThat(loop.instances(now))
        .filteredOn(i -> i.id().equals(flipping))
        .singleElement()
        .satisfies(
            i -> {
              assertThat(i.phase()).isEqualTo(InstanceState.Phase.FLIPPING);
              assertThat(i.role()).isEqualTo(InstanceRole.DECODE);
            });
    assertThat(details(EventKind.FLIP))
        .singleElement()
        .asString()
        .startsWith("planner: flipping prefill → decode: default: forecast")
        .contains("flip " + flipping);

    now += 10_000;
    outputHeavy();
    loop.round();
    assertThat(calls).filteredOn(c -> c.startsWith("flip " + flipping)).hasSize(1);

    registry.register(
        new InstanceDescriptor(
            flipping, InstanceRole.DECODE, "http://127.0.0.1:1", "m", 512, 16, 32));
    flips
        .get(flipping)
        .complete(
            new RoleFlipper.FlipResult(
                flipping, InstanceRole.PREFILL, InstanceRole.DECODE, true, 5000, "queue finished"));
    assertThat(loop.instances(now))
        .filteredOn(i -> i.id().equals(flipping))
        .singleElement()
        .extracting(InstanceState::phase)
        .isEqualTo(InstanceState.Phase.ACTIVE);
    assertThat(loop.counts().flipsDone()).isEqualTo(1);
    assertThat(details(EventKind.FLIP))
        .as("only starts: a flipper records its own outcomes")
        .allMatch(s -> s.startsWith("planner: flipping prefill → decode: "));

    // the flip's 5 s reach the planner: decode's rate is read two quarter intervals further
    now += 10_000;
    outputHeavy();
    assertThat(loop.round().why().getFirst())
        .startsWith("horizon: prompt rates read to 15.0 s ahead, output rates to 20.0 s");
  }

  @Test
  void scaleUpsStartWorkersOnlyUpToTheBudgetCountingTheOnesStarting() {
    PlannerLoop loop = loop(policy(3, 2));
    worker("p0", InstanceRole.PREFILL);
    worker("d0", InstanceRole.DECODE);
    outputHeavy();

    loop.round();

    assertThat(calls).containsExactly("start new-0 DECODE");
    assertThat(loop.instances(now))
        .filteredOn(i -> i.phase() == InstanceState.Phase.STARTING)
        .extracting(InstanceState::id)
        .containsExactly("new-0");
    assertThat(details(EventKind.SCALE))
        .anyMatch(s -> s.startsWith("planner: starting a decode instance: default: forecast"))
        .contains("started decode instance new-0");

    now += 70_000;
    outputHeavy();
    loop.round();
    assertThat(calls).as("the budget of 3 holds the starting one").hasSize(1);

    worker("new-0", InstanceRole.DECODE);
    assertThat(loop.instances(now)).noneMatch(i -> i.phase() == InstanceState.Phase.STARTING);
  }

  @Test
  void workersStartedOutsideTheLoopCountAsStartingSoTheFirstRoundsStartNoMore() {
    PlannerLoop loop = loop(policy(2, 2));
    loop.started("w0", "default", InstanceRole.PREFILL);
    loop.started("w1", "default", InstanceRole.DECODE);
    outputHeavy();

    loop.round();

    assertThat(calls).isEmpty();
    assertThat(loop.instances(now))
        .extracting(InstanceState::phase)
        .containsOnly(InstanceState.Phase.STARTING)
        .hasSize(2);
  }

  @Test
  void scaleDownsDrainBeforeTheyStopAndTheStoppedInstanceLeavesTheRegistry() {
    PlannerLoop loop = loop(policy(6, 2));
    worker("p0", InstanceRole.PREFILL);
    worker("p1", InstanceRole.PREFILL);
    worker("d0", InstanceRole.DECODE);
    worker("d1", InstanceRole.DECODE);

    loop.round(); // no traffic: one of each role is enough

    assertThat(calls).hasSize(4);
    for (int i = 0; i < calls.size(); i += 2) {
      String id = calls.get(i).split(" ")[1];
      assertThat(calls.get(i)).isEqualTo("drain " + id);
      assertThat(calls.get(i + 1)).isEqualTo("stop " + id);
      assertThat(registry.find(id)).isEmpty();
    }
    assertThat(registry.alive()).hasSize(2);
    assertThat(loop.counts().scaleDowns()).isEqualTo(2);
    assertThat(details(EventKind.SCALE))
        .anyMatch(s -> s.startsWith("planner: draining before it stops: default: "))
        .contains("stopped");
  }

  @Test
  void aFailedStopLeavesTheInstanceRegisteredAndSaysWhy() {
    policies.replace(policy(6, 2), "test");
    PlannerLoop loop =
        new PlannerLoop(
            new TidalPlanner(tracker, policies.current().policy()),
            policies,
            registry,
            tracker,
            flipper,
            scaler,
            id -> {
              registry.cordon(id, true);
              return Future.failedFuture("instance " + id + " still holds 3 running requests");
            },
            events,
            () -> now);
    worker("d0", InstanceRole.DECODE);
    worker("d1", InstanceRole.DECODE);
    worker("p0", InstanceRole.PREFILL);

    loop.round();

    assertThat(calls).noneMatch(c -> c.startsWith("stop"));
    assertThat(registry.alive()).hasSize(3).noneMatch(i -> i.cordoned());
    assertThat(details(EventKind.SCALE))
        .anyMatch(
            s ->
                s.matches(
                    "not stopped \\(uncordoned\\): instance d. still holds 3 running requests"));
  }

  @Test
  void withoutAScalerNothingIsDrainedOrStartedAndTheCountStaysWhileFlipsStillRun() {
    policies.replace(policy(4, 2), "test");
    PlannerLoop loop =
        new PlannerLoop(
            new TidalPlanner(tracker, policies.current().policy()),
            policies,
            registry,
            tracker,
            flipper,
            Planners.NO_SCALER,
            drainer,
            events,
            () -> now);
    worker("p0", InstanceRole.PREFILL);
    worker("p1", InstanceRole.PREFILL);
    worker("d0", InstanceRole.DECODE);
    worker("d1", InstanceRole.DECODE);

    loop.round(); // no traffic: one of each role is enough

    assertThat(calls).as("no drain: the instance could not be stopped after it").isEmpty();
    assertThat(registry.alive()).hasSize(4).noneMatch(i -> i.cordoned());
    assertThat(loop.instances(now)).allMatch(i -> i.phase() == InstanceState.Phase.ACTIVE);
    assertThat(details(EventKind.SCALE))
        .singleElement()
        .asString()
        .startsWith("planner: not stopping ")
        .contains("this controller has no scaler");

    now += 70_000;
    outputHeavy();
    Decision d = loop.round();

    assertThat(calls)
        .as(String.join("\n", d.why()))
        .isNotEmpty()
        .allMatch(c -> c.startsWith("flip p") && c.endsWith(" DECODE"));
    assertThat(details(EventKind.SCALE)).as("said once, not every round").hasSize(1);
  }
}
