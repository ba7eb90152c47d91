package dev.duet.controller.tidal;

import dev.duet.controller.planner.Action;
import dev.duet.controller.planner.Decision;
import dev.duet.controller.registry.InstanceRole;
import java.util.ArrayList;
import java.util.List;

/** The words of the planner loop's events: an action's reasons, a flip's arrow. Stateless. */
final class ActionText {
  private ActionText() {}

  /** The decision's lines about {@code a}: its own line and its group's sizing. */
  static String reasons(Decision d, Action a) {
    String subject =
        switch (a) {
          case Action.Flip f -> f.instanceId();
          case Action.ScaleDown s -> s.instanceId();
          case Action.ScaleUp u -> "scale up";
        };
    List<String> lines = new ArrayList<>();
    for (String w : d.why()) {
      if (w.startsWith(a.group() + ": ") && (w.contains(subject) || w.contains(": forecast"))) {
        lines.add(w);
      }
    }
    return String.join("; ", lines);
  }

  static String arrow(Action.Flip f) {
    return role(f.from()) + " → " + role(f.to());
  }

  static String role(InstanceRole r) {
    return r.wireName();
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t instanceof java.util.concurrent.CompletionException) {
      t = t.getCause();
    }
    return t.getMessage();
  }
}
