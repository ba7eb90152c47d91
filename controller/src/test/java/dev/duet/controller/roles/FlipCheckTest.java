package dev.duet.controller.roles;

import static dev.duet.controller.registry.InstanceRole.BOTH;
import static dev.duet.controller.registry.InstanceRole.DECODE;
import static dev.duet.controller.registry.InstanceRole.PREFILL;
import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which flips may start, from a snapshot of the cluster. */
class FlipCheckTest {

  private static InstanceView view(String id, InstanceRole role, boolean cordoned) {
    return new InstanceView(
        new InstanceDescriptor(id, role, "http://127.0.0.1:1", "m", 64, 16, 8),
        InstanceLoad.idle(64),
        0,
        true,
        cordoned);
  }

  private static final List<InstanceView> CLUSTER =
      List.of(
          view("p1", PREFILL, false),
          view("p2", PREFILL, false),
          view("d1", DECODE, false),
          view("d2", DECODE, true),
          view("b1", BOTH, false));

  private static int status(String id, InstanceRole to, boolean flipping, boolean force) {
    return FlipCheck.refusal(CLUSTER, id, to, flipping, force)
        .map(FlipCheck.Refusal::status)
        .orElse(0);
  }

  @Test
  void aPrefillInstanceWithAnotherOfItsRoleMayFlip() {
    assertThat(status("p1", DECODE, false, false)).isZero();
  }

  @Test
  void theLastUncordonedInstanceOfARoleFlipsOnlyWhenForced() {
    assertThat(status("d1", PREFILL, false, false)).isEqualTo(409);
    assertThat(FlipCheck.refusal(CLUSTER, "d1", PREFILL, false, false).orElseThrow().message())
        .contains("only live", "decode");
    assertThat(status("d1", PREFILL, false, true)).isZero();
    assertThat(FlipCheck.othersOfRole(CLUSTER, "d1", DECODE)).isZero();
  }

  @Test
  void theLastDecodeInstanceOfAGroupFlipsOnlyWhenForcedThoughOtherGroupsHaveDecode() {
    List<InstanceView> cluster =
        List.of(
            view("p1", PREFILL, false),
            view("d1", DECODE, false),
            grouped("bp", PREFILL, "batch"),
            grouped("bd", DECODE, "batch"));
    var refusal = FlipCheck.refusal(cluster, "bd", PREFILL, false, false);
    assertThat(refusal).isPresent();
    assertThat(refusal.orElseThrow().message()).contains("only live", "decode", "group batch");
    assertThat(FlipCheck.refusal(cluster, "bd", PREFILL, false, true)).isEmpty();
    assertThat(FlipCheck.othersOfRole(cluster, "d1", DECODE)).isZero();
  }

  private static InstanceView grouped(String id, InstanceRole role, String group) {
    return new InstanceView(
        new InstanceDescriptor(id, role, "http://127.0.0.1:1", "m", 64, 16, 8, group),
        InstanceLoad.idle(64),
        0,
        true,
        false);
  }

  @Test
  void colocatedUnknownFlippingAndBadTargetsAreRefusedWithTheirStatus() {
    assertThat(status("b1", DECODE, false, true)).isEqualTo(409);
    assertThat(status("nope", DECODE, false, true)).isEqualTo(404);
    assertThat(status("p1", DECODE, true, true)).isEqualTo(409);
    assertThat(status("p1", BOTH, false, true)).isEqualTo(400);
    assertThat(status("p1", null, false, true)).isEqualTo(400);
  }

  @Test
  void flippingToTheRoleItHasIsNoRefusal() {
    assertThat(status("d1", DECODE, false, false)).isZero();
  }
}
