package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.registry.StepTime;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which decode instance a migration goes to: {@link Migrator#preferred}. */
class MigrationTargetTest {

  /** A pass of 20 + 2 ms a row: a 100 ms TPOT allows 40 streams. */
  private static final StepTime STEP = new StepTime(20, 2);

  private static InstanceView decode(String id, int running, int freeBlocks) {
    return new InstanceView(
        new InstanceDescriptor(id, InstanceRole.DECODE, "http://127.0.0.1:1", "m", 100, 16, 8),
        new InstanceLoad(0, 0, running, freeBlocks, 0, 0, STEP, 0),
        0,
        true);
  }

  @Test
  void aTargetUnderItsTpotBatchCapIsPreferredToOneWithMoreFreeKvAtItsCap() {
    InstanceView atCap = decode("d-at-cap", 40, 90);
    InstanceView under = decode("d-under", 39, 10);
    List<InstanceView> both = List.of(atCap, under);
    assertThat(Migrator.preferred(both, null, 0))
        .as("no cap: the most free KV")
        .map(InstanceView::id)
        .contains("d-at-cap");
    assertThat(Migrator.preferred(both, null, 100)).map(InstanceView::id).contains("d-under");
    assertThat(Migrator.preferred(both, null, 120))
        .as("a looser SLO allows 50: both are under it, and free KV decides")
        .map(InstanceView::id)
        .contains("d-at-cap");
  }

  @Test
  void aDrainStillMovesItsStreamsWhenEveryTargetIsAtItsCap() {
    List<InstanceView> full = List.of(decode("d-a", 45, 10), decode("d-b", 40, 30));
    assertThat(Migrator.preferred(full, null, 100)).map(InstanceView::id).contains("d-b");
  }

  @Test
  void anOperatorsTargetIsTheOnlyCandidate() {
    List<InstanceView> both = List.of(decode("d-at-cap", 40, 90), decode("d-under", 1, 90));
    assertThat(Migrator.preferred(both, "d-at-cap", 100))
        .map(InstanceView::id)
        .contains("d-at-cap");
    assertThat(Migrator.preferred(both, "d-gone", 100)).isEmpty();
  }
}
