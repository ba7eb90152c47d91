package dev.duet.controller.planner;

import dev.duet.controller.registry.InstanceRole;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the planner did before, per group, for its cooldowns: each {@link Decision} returns the
 * history the next round takes. Immutable.
 */
public record PlannerHistory(Map<String, Group> groups) {
  public static final PlannerHistory EMPTY = new PlannerHistory(Map.of());

  public PlannerHistory {
    groups = Map.copyOf(groups);
  }

  /**
   * One group's last changes.
   *
   * @param lastFlipMillis when it last flipped an instance, {@link Long#MIN_VALUE} if never
   * @param lastFlipTo the role that flip went to
   * @param lastScaleMillis when it last scaled up or down, {@link Long#MIN_VALUE} if never
   */
  public record Group(
      long lastFlipMillis, Optional<InstanceRole> lastFlipTo, long lastScaleMillis) {
    public static final Group NEVER = new Group(Long.MIN_VALUE, Optional.empty(), Long.MIN_VALUE);
  }

  public Group of(String group) {
    return groups.getOrDefault(group, Group.NEVER);
  }

  PlannerHistory with(String group, Group g) {
    var m = new HashMap<>(groups);
    m.put(group, g);
    return new PlannerHistory(m);
  }

  /** Whether {@code cooldownMillis} have passed since {@code lastMillis} (always, if never). */
  static boolean cooled(long nowMillis, long lastMillis, long cooldownMillis) {
    return lastMillis == Long.MIN_VALUE || nowMillis - lastMillis >= cooldownMillis;
  }
}
