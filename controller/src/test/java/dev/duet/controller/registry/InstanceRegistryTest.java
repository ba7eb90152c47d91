package dev.duet.controller.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.controller.events.ClusterEvent;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.InMemoryEventLog;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class InstanceRegistryTest {

  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong now = new AtomicLong(5 * SECOND);
  private final InMemoryEventLog events =
      new InMemoryEventLog(100, InstantSource.fixed(java.time.Instant.EPOCH));
  private final InstanceRegistry registry = new InstanceRegistry(now::get, events);

  private static InstanceDescriptor decoder(String id) {
    return new InstanceDescriptor(id, InstanceRole.DECODE, "http://127.0.0.1:1", "m", 100, 16, 8);
  }

  @Test
  void aRegisteredInstanceStartsIdleAndHeartbeatsCarryItsLoad() {
    registry.register(decoder("d1"));
    assertThat(registry.alive())
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.load()).isEqualTo(InstanceLoad.idle(100));
            });
    InstanceLoad busy = new InstanceLoad(2, 300, 5, 40, 1000, 50);
    now.addAndGet(SECOND);
    assertThat(registry.heartbeat("d1", busy)).isTrue();
    assertThat(registry.find("d1")).get().extracting(InstanceView::load).isEqualTo(busy);
  }

  @Test
  void threeMissedHeartbeatsMarkAnInstanceDeadAtOnce() {
    registry.register(decoder("d1"));
    registry.register(decoder("d2"));
    now.addAndGet(2 * SECOND);
    registry.heartbeat("d2", InstanceLoad.idle(100));
    now.addAndGet(SECOND - 1);
    assertThat(registry.alive()).extracting(InstanceView::id).containsExactly("d1", "d2");
    now.addAndGet(1); // d1 silent for 3 s
    assertThat(registry.alive()).extracting(InstanceView::id).containsExactly("d2");
    assertThat(registry.find("d1")).get().extracting(InstanceView::alive).isEqualTo(false);
    // A dead instance's late heartbeat is refused: it must register again.
    assertThat(registry.heartbeat("d1", InstanceLoad.idle(100))).isFalse();
    registry.register(decoder("d1"));
    assertThat(registry.alive()).extracting(InstanceView::id).contains("d1");
  }

  @Test
  void unknownAndRemovedInstancesCannotHeartbeat() {
    assertThat(registry.heartbeat("ghost", InstanceLoad.idle(1))).isFalse();
    registry.register(decoder("d1"));
    assertThat(registry.remove("d1")).isTrue();
    assertThat(registry.heartbeat("d1", InstanceLoad.idle(1))).isFalse();
    assertThat(registry.snapshot()).isEmpty();
  }

  @Test
  void routedRequestsCountUntilTheNextHeartbeat() {
    registry.register(decoder("d1"));
    registry.noteRouted("d1", 100, 7);
    InstanceLoad l = registry.find("d1").orElseThrow().load();
    assertThat(l.queued()).isEqualTo(1);
    assertThat(l.queuedPromptTokens()).isEqualTo(100);
    assertThat(l.freeKvBlocks()).isEqualTo(93);
    InstanceLoad reported = new InstanceLoad(0, 0, 1, 95, 0, 0);
    registry.heartbeat("d1", reported);
    assertThat(registry.find("d1").orElseThrow().load()).isEqualTo(reported);
    registry.noteRouted("ghost", 1, 1); // unknown: ignored
  }

  @Test
  void theFreeBlocksARefusalStatesHoldUntilTheNextHeartbeatAndKeepTheRest() {
    registry.register(decoder("d1"));
    registry.heartbeat("d1", new InstanceLoad(2, 300, 5, 80, 1000, 500));
    registry.noteFreeBlocks("d1", 3);
    InstanceLoad l = registry.find("d1").orElseThrow().load();
    assertThat(l).isEqualTo(new InstanceLoad(2, 300, 5, 3, 1000, 500));
    assertThat(registry.find("d1").orElseThrow().alive()).isTrue();
    InstanceLoad reported = new InstanceLoad(0, 0, 4, 60, 1000, 500);
    registry.heartbeat("d1", reported);
    assertThat(registry.find("d1").orElseThrow().load()).isEqualTo(reported);
    registry.noteFreeBlocks("ghost", 1); // unknown: ignored
  }

  @Test
  void aCordonedInstanceStaysAliveButIsNotRoutableEvenAfterItRegistersAgain() {
    registry.register(decoder("d1"));
    assertThat(registry.cordon("d1", true)).isTrue();
    InstanceView v = registry.find("d1").orElseThrow();
    assertThat(v.alive()).isTrue();
    assertThat(v.cordoned()).isTrue();
    assertThat(v.routable()).isFalse();
    registry.register(decoder("d1")); // a restart
    assertThat(registry.find("d1").orElseThrow().cordoned()).isTrue();
    assertThat(registry.cordon("d1", false)).isTrue();
    assertThat(registry.find("d1").orElseThrow().routable()).isTrue();
    assertThat(registry.cordon("ghost", true)).isFalse();
  }

  @Test
  void joinsCordonsAndDeathsGoToTheEventLogEachOnce() {
    registry.register(decoder("d1"));
    registry.cordon("d1", true);
    registry.cordon("d1", true); // no change, no event
    registry.cordon("d1", false);
    now.addAndGet(3 * SECOND);
    registry.snapshot();
    registry.alive();
    registry.register(decoder("d1"));
    assertThat(events.page(0, 100).events())
        .extracting(ClusterEvent::kind, ClusterEvent::instance, ClusterEvent::detail)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                EventKind.INSTANCE_JOINED, "d1", "registered as decode at http://127.0.0.1:1"),
            org.assertj.core.groups.Tuple.tuple(EventKind.CORDON, "d1", "cordoned"),
            org.assertj.core.groups.Tuple.tuple(EventKind.CORDON, "d1", "uncordoned"),
            org.assertj.core.groups.Tuple.tuple(
                EventKind.INSTANCE_DEAD, "d1", "no heartbeat for 3000 ms (dead after 3 missed)"),
            org.assertj.core.groups.Tuple.tuple(
                EventKind.INSTANCE_JOINED,
                "d1",
                "registered again as decode at http://127.0.0.1:1"));
  }

  @Test
  void anotherInstancesHeartbeatNoticesADeath() {
    registry.register(decoder("d1"));
    registry.register(decoder("d2"));
    now.addAndGet(2 * SECOND);
    registry.heartbeat("d2", InstanceLoad.idle(100));
    now.addAndGet(SECOND);
    registry.heartbeat("d2", InstanceLoad.idle(100));
    assertThat(events.page(0, 100).events())
        .filteredOn(e -> e.kind() == EventKind.INSTANCE_DEAD)
        .extracting(ClusterEvent::instance)
        .containsExactly("d1");
  }

  @Test
  void aRoleIsTakenOnlyFromANewerEpochSoALateHeartbeatCannotUndoAFlip() {
    registry.register(decoder("d1"));
    InstanceLoad idle = InstanceLoad.idle(100);
    // The flip's answer: epoch 1, prefill.
    assertThat(registry.updateRole("d1", InstanceRole.PREFILL, 1)).isTrue();
    // A heartbeat built before the flip arrives after it: epoch 0, decode.
    assertThat(registry.heartbeat("d1", idle, InstanceRole.DECODE, 0)).isTrue();
    assertThat(registry.find("d1").orElseThrow().descriptor().role())
        .isEqualTo(InstanceRole.PREFILL);
    // A later flip reported first by a heartbeat.
    assertThat(registry.heartbeat("d1", idle, InstanceRole.DECODE, 2)).isTrue();
    assertThat(registry.find("d1").orElseThrow().descriptor().role())
        .isEqualTo(InstanceRole.DECODE);
    assertThat(registry.updateRole("d1", InstanceRole.DECODE, 2)).isFalse();
    assertThat(registry.updateRole("nope", InstanceRole.DECODE, 9)).isFalse();
  }

  @Test
  void aWorkerThatRegistersAgainAfterFlipsKeepsItsEpoch() {
    registry.register(decoder("d1"), 3);
    assertThat(registry.updateRole("d1", InstanceRole.PREFILL, 3)).isFalse();
    assertThat(registry.updateRole("d1", InstanceRole.PREFILL, 4)).isTrue();
  }
}
