package dev.duet.controller.planner;

import java.util.List;
import java.util.Objects;

/**
 * One planning round's outcome: per-group targets, the actions to take (in order), the reasons in
 * words, and the history the next round starts from. Immutable; what {@code GET planner} shows.
 *
 * @param atMillis when it was made
 * @param groups one plan per group, in policy order
 * @param actions flips, scale-downs, then scale-ups
 * @param why human-readable reasons: the sizing, and every action taken or held back
 * @param history pass to the next {@link Planner#plan}
 */
public record Decision(
    long atMillis,
    List<GroupPlan> groups,
    List<Action> actions,
    List<String> why,
    PlannerHistory history) {
  public Decision {
    groups = List.copyOf(groups);
    actions = List.copyOf(actions);
    why = List.copyOf(why);
    Objects.requireNonNull(history, "history");
  }

  public GroupPlan group(String name) {
    return groups.stream()
        .filter(g -> g.group().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no group " + name + " in " + groups));
  }
}
