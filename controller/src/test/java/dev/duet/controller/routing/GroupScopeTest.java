package dev.duet.controller.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class GroupScopeTest {

  private static final GroupScope SCOPE = GroupScope.of(List.of("batch", "chat"));

  private static InstanceView view(String id, InstanceRole role, String group, boolean alive) {
    return new InstanceView(
        new InstanceDescriptor(id, role, "http://127.0.0.1:1", "m", 100, 16, 8, group),
        InstanceLoad.idle(100),
        0,
        alive);
  }

  private static final Predicate<InstanceView> LIVE_DECODE =
      i -> i.routable() && i.descriptor().role().decodes();

  private static final List<InstanceView> CLUSTER =
      List.of(
          view("d0", InstanceRole.DECODE, "default", true),
          view("b0", InstanceRole.DECODE, "batch", true),
          view("b1", InstanceRole.DECODE, "batch", false),
          view("bp", InstanceRole.PREFILL, "batch", true),
          view("c0", InstanceRole.PREFILL, "chat", true),
          view("old", InstanceRole.DECODE, "removed-by-a-reload", true));

  @Test
  void aRequestGetsOnlyTheFittingInstancesOfItsOwnGroup() {
    GroupScope.Choice c = SCOPE.choose(CLUSTER, "batch", LIVE_DECODE);
    assertThat(c.instances()).extracting(InstanceView::id).containsExactly("b0");
    assertThat(c.fallback()).isFalse();
  }

  @Test
  void aGroupWithNoFittingInstanceFallsBackToTheDefaultGroups() {
    GroupScope.Choice c = SCOPE.choose(CLUSTER, "chat", LIVE_DECODE);
    assertThat(c.instances()).extracting(InstanceView::id).containsExactly("d0", "old");
    assertThat(c.fallback()).isTrue();
  }

  @Test
  void theFallbackAppliesPerRequirementSoTheSourceOfAMoveIsNotItsOwnTarget() {
    GroupScope.Choice c =
        SCOPE.choose(CLUSTER, "batch", LIVE_DECODE.and(i -> !i.id().equals("b0")));
    assertThat(c.instances()).extracting(InstanceView::id).containsExactly("d0", "old");
    assertThat(c.fallback()).isTrue();
  }

  @Test
  void theDefaultGroupNeverFallsBackAndTakesInstancesOfGroupsThePolicyDoesNotName() {
    GroupScope.Choice c = SCOPE.choose(CLUSTER, "default", LIVE_DECODE);
    assertThat(c.instances()).extracting(InstanceView::id).containsExactly("d0", "old");
    assertThat(c.fallback()).isFalse();
    GroupScope.Choice none =
        SCOPE.choose(CLUSTER, "default", i -> i.descriptor().role() == InstanceRole.BOTH);
    assertThat(none.instances()).isEmpty();
    assertThat(none.fallback()).isFalse();
    assertThat(SCOPE.groupOf(CLUSTER.get(5))).isEqualTo("default");
  }

  @Test
  void withoutGroupsInThePolicyEveryInstanceServesTheDefaultGroup() {
    GroupScope.Choice c = GroupScope.DEFAULT_ONLY.choose(CLUSTER, "default", LIVE_DECODE);
    assertThat(c.instances()).extracting(InstanceView::id).containsExactly("d0", "b0", "old");
  }

  @Test
  void aScopeMustKnowTheDefaultGroup() {
    assertThatThrownBy(() -> new GroupScope(java.util.Set.of("batch")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'default'");
  }
}
