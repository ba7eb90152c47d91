package dev.duet.controller.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.registry.StepTime;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouterTest {

  private final Router router = new Router();

  private static InstanceView view(String id, InstanceRole role, boolean alive, InstanceLoad load) {
    return new InstanceView(
        new InstanceDescriptor(id, role, "http://127.0.0.1:1", "m", 100, 16, 8), load, 0, alive);
  }

  private static InstanceLoad load(
      int queued, long queuedTokens, int running, int free, double pps) {
    return new InstanceLoad(queued, queuedTokens, running, free, pps, 0);
  }

  @Test
  void decodeGoesToTheLightestInstanceWithRoomForTheWholeRequest() {
    List<InstanceView> all =
        List.of(
            view("d-full", InstanceRole.DECODE, true, load(0, 0, 0, 5, 0)), // 5 blocks < 8 needed
            view("d-busy", InstanceRole.DECODE, true, load(0, 0, 6, 90, 0)),
            view("d-dead", InstanceRole.DECODE, false, load(0, 0, 0, 100, 0)),
            view("d-light", InstanceRole.DECODE, true, load(0, 0, 2, 20, 0)),
            view("p", InstanceRole.PREFILL, true, load(0, 0, 0, 100, 0)));
    RoutePlan plan = router.plan(all, 100, 28).orElseThrow(); // 128 tokens = 8 blocks
    assertThat(plan.decode().id()).isEqualTo("d-light");
    assertThat(plan.prefillOrder()).extracting(InstanceView::id).containsExactly("p");
  }

  @Test
  void aDecodeInstanceAtTheBatchItsTpotSloAllowsGetsNoMoreStreams() {
    // a pass of 20 + 2 ms a row: 100 ms TPOT allows (100 - 20) / 2 = 40 streams
    StepTime step = new StepTime(20, 2);
    assertThat(Router.batchCap(step, 100)).isEqualTo(40);
    assertThat(Router.batchCap(step, 0)).as("no SLO").isEqualTo(Integer.MAX_VALUE);
    assertThat(Router.batchCap(StepTime.UNKNOWN, 100))
        .as("not measured")
        .isEqualTo(Integer.MAX_VALUE);
    assertThat(Router.batchCap(new StepTime(20, 0), 100))
        .as("rows cost nothing")
        .isEqualTo(Integer.MAX_VALUE);
    assertThat(Router.batchCap(new StepTime(0, 24), 150))
        .as("a proportional fit (no fixed part yet) caps nothing")
        .isEqualTo(Integer.MAX_VALUE);
    assertThat(Router.batchCap(new StepTime(150, 2), 100)).as("one alone is served").isEqualTo(1);
    // streams = routed since the report (queued) + running + reserved: 39 has room, 40 has not
    InstanceView atCap =
        view("d-at-cap", InstanceRole.DECODE, true, new InstanceLoad(1, 0, 30, 100, 0, 0, step, 9));
    InstanceView under =
        view("d-under", InstanceRole.DECODE, true, new InstanceLoad(0, 0, 30, 20, 0, 0, step, 9));
    InstanceView p = view("p", InstanceRole.PREFILL, true, load(0, 0, 0, 100, 0));
    assertThat(atCap.load().streams()).isEqualTo(40);
    List<InstanceView> both = List.of(atCap, under, p);
    // by free blocks alone d-at-cap (100 free) is the lighter, and without an SLO it is chosen
    assertThat(router.plan(both, both, 10, 10, 0).orElseThrow().decode().id())
        .isEqualTo("d-at-cap");
    assertThat(router.plan(both, both, 10, 10, 100).orElseThrow().decode().id())
        .isEqualTo("d-under");
    List<InstanceView> capped = List.of(atCap, p);
    assertThat(router.plan(capped, capped, 10, 10, 100)).as("waits for room").isEmpty();
    assertThat(router.plan(capped, capped, 10, 10, 120)).as("a looser SLO allows 50").isPresent();
  }

  @Test
  void prefillCandidatesAreOrderedByEstimatedWait() {
    List<InstanceView> all =
        List.of(
            view("d", InstanceRole.DECODE, true, load(0, 0, 0, 100, 0)),
            view("p-slow-queue", InstanceRole.PREFILL, true, load(3, 6000, 1, 100, 2000)), // 3 s
            view("p-short-queue", InstanceRole.PREFILL, true, load(1, 500, 1, 100, 1000)), // 0.5 s
            view("both-idle", InstanceRole.BOTH, true, load(0, 0, 0, 100, 1000)), // 0 s
            view("p-dead", InstanceRole.PREFILL, false, load(0, 0, 0, 100, 1000)));
    RoutePlan plan = router.plan(all, 10, 10).orElseThrow();
    assertThat(plan.prefillOrder())
        .extracting(InstanceView::id)
        .containsExactly("both-idle", "p-short-queue", "p-slow-queue");
  }

  @Test
  void noRouteWhenNoDecodeInstanceHasRoomOrNoPrefillIsAlive() {
    List<InstanceView> full =
        List.of(
            view("d", InstanceRole.DECODE, true, load(0, 0, 0, 1, 0)),
            view("p", InstanceRole.PREFILL, true, load(0, 0, 0, 100, 0)));
    assertThat(router.plan(full, 100, 100)).isEmpty();
    List<InstanceView> noPrefill =
        List.of(
            view("d", InstanceRole.DECODE, true, load(0, 0, 0, 100, 0)),
            view("p", InstanceRole.PREFILL, false, load(0, 0, 0, 100, 0)));
    assertThat(router.plan(noPrefill, 1, 1)).isEmpty();
  }

  @Test
  void aBothInstanceCanServeAlone() {
    List<InstanceView> one = List.of(view("b", InstanceRole.BOTH, true, load(0, 0, 0, 100, 0)));
    RoutePlan plan = router.plan(one, 10, 10).orElseThrow();
    assertThat(plan.decode().id()).isEqualTo("b");
    assertThat(plan.prefillOrder()).extracting(InstanceView::id).containsExactly("b");
  }

  @Test
  void cordonedInstancesGetNoNewRequests() {
    InstanceDescriptor d =
        new InstanceDescriptor("d-free", InstanceRole.BOTH, "http://h:1", "m", 100, 16, 8);
    InstanceDescriptor b =
        new InstanceDescriptor("b-busy", InstanceRole.BOTH, "http://h:2", "m", 100, 16, 8);
    List<InstanceView> all =
        List.of(
            new InstanceView(d, load(0, 0, 0, 100, 0), 0, true, true),
            new InstanceView(b, load(2, 100, 4, 50, 0), 0, true, false));
    RoutePlan plan = router.plan(all, 10, 10).orElseThrow();
    assertThat(plan.decode().id()).isEqualTo("b-busy");
    assertThat(plan.prefillOrder()).extracting(InstanceView::id).containsExactly("b-busy");
    List<InstanceView> allCordoned =
        List.of(new InstanceView(d, load(0, 0, 0, 100, 0), 0, true, true));
    assertThat(router.plan(allCordoned, 10, 10)).isEmpty();
  }
}
