package dev.duet.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A worker's role: the work it takes, and flips that wait for nothing held. */
class WorkerRoleTest {

  private static CompletableFuture<WorkerRole.Held> none() {
    return CompletableFuture.completedFuture(new WorkerRole.Held(0, 0, 0));
  }

  @Test
  void eachRoleTakesOnlyItsWorkAndBothTakesAll() {
    WorkerRole prefill = new WorkerRole("prefill");
    assertThat(prefill.admit(WorkerRole.Work.PREFILL, () -> 1)).isEqualTo(1);
    assertThatThrownBy(() -> prefill.admit(WorkerRole.Work.DECODE, () -> 1))
        .isInstanceOf(WorkerRole.Refused.class)
        .hasMessageContaining("role is prefill");
    WorkerRole decode = new WorkerRole("decode");
    assertThatThrownBy(() -> decode.admit(WorkerRole.Work.PREFILL, () -> 1))
        .hasMessageContaining("role is decode");
    WorkerRole both = new WorkerRole("both");
    assertThat(both.admit(WorkerRole.Work.PREFILL, () -> 1)).isEqualTo(1);
    assertThat(both.admit(WorkerRole.Work.DECODE, () -> 2)).isEqualTo(2);
  }

  @Test
  void anEmptyWorkerFlipsAndBumpsItsEpoch() {
    WorkerRole r = new WorkerRole("decode");
    WorkerRole.Flip f = r.flip("prefill", WorkerRoleTest::none).join();
    assertThat(f.changed()).isTrue();
    assertThat(f.previous()).isEqualTo("decode");
    assertThat(r.state()).isEqualTo(new WorkerRole.State("prefill", 1));
    assertThat(r.admit(WorkerRole.Work.PREFILL, () -> true)).isTrue();
    WorkerRole.Flip same = r.flip("prefill", WorkerRoleTest::none).join();
    assertThat(same.changed()).isFalse();
    assertThat(same.refusal()).isNull();
    assertThat(r.epoch()).isEqualTo(1);
  }

  @Test
  void aWorkerHoldingRequestsRefusesTheFlipWithTheCounts() {
    WorkerRole r = new WorkerRole("decode");
    WorkerRole.Flip f =
        r.flip("prefill", () -> CompletableFuture.completedFuture(new WorkerRole.Held(1, 2, 3)))
            .join();
    assertThat(f.changed()).isFalse();
    assertThat(f.refusal()).contains("1 queued, 2 running, 3 reserved", "drain it first");
    assertThat(r.state()).isEqualTo(new WorkerRole.State("decode", 0));
  }

  @Test
  void workArrivingWhileTheCountIsPendingIsRefusedAndABothWorkerNeverFlips() {
    WorkerRole r = new WorkerRole("prefill");
    CompletableFuture<WorkerRole.Held> count = new CompletableFuture<>();
    CompletableFuture<WorkerRole.Flip> flip = r.flip("decode", () -> count);
    AtomicInteger queued = new AtomicInteger();
    assertThatThrownBy(() -> r.admit(WorkerRole.Work.PREFILL, queued::incrementAndGet))
        .hasMessageContaining("flipping");
    assertThat(r.flip("decode", WorkerRoleTest::none).join().refusal()).contains("under way");
    count.complete(new WorkerRole.Held(0, 0, 0));
    assertThat(flip.join().changed()).isTrue();
    assertThat(queued.get()).isZero();
    assertThat(new WorkerRole("both").flip("decode", WorkerRoleTest::none).join().refusal())
        .contains("colocated");
    assertThatThrownBy(() -> r.flip("both", WorkerRoleTest::none))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
