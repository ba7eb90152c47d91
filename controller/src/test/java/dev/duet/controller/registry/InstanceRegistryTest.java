package dev.duet.controller.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class InstanceRegistryTest {

  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong now = new AtomicLong(5 * SECOND);
  private final InstanceRegistry registry = new InstanceRegistry(now::get);

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
}
