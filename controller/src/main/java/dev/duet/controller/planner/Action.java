package dev.duet.controller.planner;

import dev.duet.controller.registry.InstanceRole;
import java.util.Objects;

/**
 * One change the planner orders. The executor must never drop an in-flight request carrying it out:
 * a prefill → decode flip stops admitting and finishes the queue; a decode → prefill flip drains
 * the instance by live migration; a scale-down drains the same way before the {@link Scaler} stops
 * the process.
 */
public sealed interface Action {
  String group();

  /** Turn {@code instanceId} from {@code from} to {@code to} in place (weights stay loaded). */
  record Flip(String instanceId, String group, InstanceRole from, InstanceRole to)
      implements Action {
    public Flip {
      Objects.requireNonNull(instanceId, "instanceId");
      Objects.requireNonNull(group, "group");
      if (from == to || from == InstanceRole.BOTH || to == InstanceRole.BOTH) {
        throw new IllegalArgumentException(
            "a flip goes between prefill and decode: " + from + " → " + to);
      }
    }
  }

  /** Start one more worker of {@code role} for {@code group}. */
  record ScaleUp(String group, InstanceRole role) implements Action {
    public ScaleUp {
      Objects.requireNonNull(group, "group");
      Objects.requireNonNull(role, "role");
    }
  }

  /** Drain and stop {@code instanceId}, a {@code role} instance of {@code group}. */
  record ScaleDown(String instanceId, String group, InstanceRole role) implements Action {
    public ScaleDown {
      Objects.requireNonNull(instanceId, "instanceId");
      Objects.requireNonNull(group, "group");
      Objects.requireNonNull(role, "role");
    }
  }
}
