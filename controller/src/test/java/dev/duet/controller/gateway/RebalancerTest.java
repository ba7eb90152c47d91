package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rebalancer's plan: who moves where, from the instances' loads alone. */
class RebalancerTest {

  private static final Rebalancer.Options OPTIONS =
      new Rebalancer.Options(Duration.ofSeconds(1), 4, 16, 4);

  private static InstanceView decode(String id, int freeBlocks, int running, long queuedTokens) {
    return new InstanceView(
        new InstanceDescriptor(id, InstanceRole.DECODE, "http://127.0.0.1:1", "m", 200, 16, 32),
        new InstanceLoad(queuedTokens > 0 ? 1 : 0, queuedTokens, running, freeBlocks, 0, 0),
        0,
        true);
  }

  private static Rebalancer.Candidate request(String id, boolean movable) {
    return new Rebalancer.Candidate(id, 160, movable);
  }

  @Test
  void freenessIsFreeBlocksAfterTheQueuePerRunningRequest() {
    assertThat(Rebalancer.freeness(decode("a", 100, 10, 0))).isEqualTo(10);
    assertThat(Rebalancer.freeness(decode("a", 100, 10, 320))).isEqualTo(8); // 20 blocks queued
    assertThat(Rebalancer.freeness(decode("a", 100, 0, 0))).isEqualTo(100);
  }

  @Test
  void theLeastFreeInstanceSendsItsFirstMovableRequestToTheMostFree() {
    Map<String, List<Rebalancer.Candidate>> on =
        Map.of("busy", List.of(request("r1", false), request("r2", true), request("r3", true)));
    List<Rebalancer.Move> moves =
        Rebalancer.plan(
            List.of(decode("idle", 180, 1, 0), decode("busy", 20, 10, 0), decode("mid", 90, 9, 0)),
            id -> on.getOrDefault(id, List.of()),
            4,
            OPTIONS);
    assertThat(moves).containsExactly(new Rebalancer.Move("r2", "busy", "idle"));
  }

  @Test
  void balancedInstancesOrNoRoomMeanNoMoves() {
    Map<String, List<Rebalancer.Candidate>> on = Map.of("a", List.of(request("r", true)));
    assertThat(
            Rebalancer.plan(
                List.of(decode("a", 60, 6, 0), decode("b", 70, 6, 0)),
                id -> on.getOrDefault(id, List.of()),
                4,
                OPTIONS))
        .isEmpty();
    // The target is free per request but has no room for this request's 10 blocks.
    assertThat(
            Rebalancer.plan(
                List.of(decode("a", 10, 10, 0), decode("b", 9, 0, 0)),
                id -> on.getOrDefault(id, List.of()),
                4,
                OPTIONS))
        .isEmpty();
    // No room for another concurrent migration.
    assertThat(
            Rebalancer.plan(
                List.of(decode("a", 10, 10, 0), decode("b", 180, 0, 0)),
                id -> on.getOrDefault(id, List.of()),
                0,
                OPTIONS))
        .isEmpty();
  }

  @Test
  void thresholdsMustBeOrdered() {
    assertThatThrownBy(() -> new Rebalancer.Options(Duration.ofSeconds(1), 8, 8, 1))
        .hasMessageContaining("must be above lowFreeness");
  }

  @Test
  void aRequestMovesWithinItsGroupOrAmongTheDefaultGroupsWhenItsGroupHasNoDecodeInstance() {
    java.util.Set<String> withDecodes = java.util.Set.of("default", "batch");
    assertThat(Rebalancer.belongs("batch", "batch", withDecodes)).isTrue();
    assertThat(Rebalancer.belongs("batch", "default", withDecodes)).isFalse();
    assertThat(Rebalancer.belongs("default", "batch", withDecodes)).isFalse();
    assertThat(Rebalancer.belongs("chat", "default", withDecodes)).isTrue(); // its fallback
    assertThat(Rebalancer.belongs("chat", "batch", withDecodes)).isFalse();
  }
}
