package dev.duet.controller.tidal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.controller.events.InMemoryEventLog;
import dev.duet.controller.planner.InstanceState;
import dev.duet.controller.planner.LoadTracker;
import dev.duet.controller.planner.TidalPlanner;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The planner loop takes each instance's scenario group from what the instance registered. */
class PlannerLoopGroupsTest {

  @Test
  void eachInstanceCountsInTheGroupItRegisteredOrInDefaultWhenThePolicyDoesNotNameIt() {
    InMemoryEventLog events = InMemoryEventLog.withDefaults();
    InstanceRegistry registry = new InstanceRegistry(() -> 0L, events);
    LoadTracker tracker = new LoadTracker(Duration.ofSeconds(10));
    PolicyStore policies = new PolicyStore(Clock.systemUTC());
    policies.replace(
        """
        groups:
          - name: batch
            match:
              header: {name: X-Duet-Scenario, value: batch}
            roles:
              prefill: {min: 0, max: 4}
              decode: {min: 0, max: 4}
        """,
        "test");
    PlannerLoop loop =
        new PlannerLoop(
            new TidalPlanner(tracker, policies.current().policy()),
            policies,
            registry,
            tracker,
            new UnavailableRoleFlipper(registry, events),
            Planners.NO_SCALER,
            id -> Future.succeededFuture(),
            events,
            () -> 1_000L);
    for (String[] w :
        new String[][] {{"p0", "default"}, {"b0", "batch"}, {"b1", "batch"}, {"x0", "gone"}}) {
      registry.register(
          new InstanceDescriptor(
              w[0], InstanceRole.DECODE, "http://127.0.0.1:1", "m", 64, 16, 8, w[1]));
    }
    loop.started("b2", "batch", InstanceRole.PREFILL); // asked of the scaler, not registered yet

    Map<String, String> groups =
        loop.instances(1_000L).stream()
            .collect(Collectors.toMap(InstanceState::id, InstanceState::group));

    assertThat(groups)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("p0", "default", "b0", "batch", "b1", "batch", "x0", "default", "b2", "batch"));
  }
}
