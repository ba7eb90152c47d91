package dev.duet.controller.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
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
