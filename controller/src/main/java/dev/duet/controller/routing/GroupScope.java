package dev.duet.controller.routing;

import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceView;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Which instances may serve a request of a scenario group: each group keeps its own instances (an
 * instance's group is what it registered, {@code duet worker --group}), so a request goes, is
 * migrated and is recovered only among the instances of its own group.
 *
 * <p><b>Fallback to the default group.</b> When the group has no instance that can do what is asked
 * (e.g. no routable decode instance), the default group's instances serve instead, and the caller
 * counts the fallback. A group whose policy bounds allow zero instances, or one the planner has
 * just started scaling up, must still be servable: without the fallback its requests would be
 * refused (503) until a worker of the group registered, which takes a cold start. The default group
 * has no fallback.
 *
 * <p>An instance whose group the policy does not name serves the default group (as the planner
 * counts it): a worker started with a group that a reload removed keeps serving.
 *
 * <p>Immutable; thread-safe. Build one per policy version ({@link #of}).
 *
 * @param groups the group names of the policy, the default group included
 */
public record GroupScope(Set<String> groups) {

  /** The scope of a cluster without scenario groups: every instance serves the default group. */
  public static final GroupScope DEFAULT_ONLY = of(List.of());

  public GroupScope {
    groups = Set.copyOf(groups);
    if (!groups.contains(InstanceDescriptor.DEFAULT_GROUP)) {
      throw new IllegalArgumentException(
          "groups must include '" + InstanceDescriptor.DEFAULT_GROUP + "', got " + groups);
    }
  }

  /** The scope of a policy with these group names (the default group is added). */
  public static GroupScope of(List<String> groupNames) {
    Set<String> all = new java.util.HashSet<>(groupNames);
    all.add(InstanceDescriptor.DEFAULT_GROUP);
    return new GroupScope(all);
  }

  /** Instances chosen for a request, and whether they are the default group's by fallback. */
  public record Choice(List<InstanceView> instances, boolean fallback) {
    public Choice {
      instances = List.copyOf(instances);
    }
  }

  /** The group an instance serves: the one it registered, or the default one if unknown. */
  public String groupOf(InstanceView i) {
    String g = i.descriptor().group();
    return groups.contains(g) ? g : InstanceDescriptor.DEFAULT_GROUP;
  }

  /**
   * The instances of {@code group} that pass {@code fit}, in the given order; when there is none,
   * those of the default group that pass it, as a fallback.
   */
  public Choice choose(List<InstanceView> instances, String group, Predicate<InstanceView> fit) {
    Objects.requireNonNull(group, "group");
    List<InstanceView> own = of(instances, group, fit);
    if (!own.isEmpty() || group.equals(InstanceDescriptor.DEFAULT_GROUP)) {
      return new Choice(own, false);
    }
    List<InstanceView> fallback = of(instances, InstanceDescriptor.DEFAULT_GROUP, fit);
    return new Choice(fallback, !fallback.isEmpty());
  }

  private List<InstanceView> of(
      List<InstanceView> instances, String group, Predicate<InstanceView> fit) {
    return instances.stream().filter(i -> groupOf(i).equals(group)).filter(fit).toList();
  }
}
