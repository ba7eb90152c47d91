package dev.duet.controller.planner;

import dev.duet.controller.registry.InstanceRole;
import java.util.concurrent.CompletableFuture;

/**
 * Changes how many workers run: the one seam between the planner's {@link Action.ScaleUp} / {@link
 * Action.ScaleDown} and the world (worker processes in {@code duet local}, pods through Fabric8 on
 * Kubernetes). Implementations are thread-safe and never block the caller.
 */
public interface Scaler {
  /**
   * Starts a worker of {@code role} for {@code group}; completes with its instance id once the
   * process is started (it registers with the controller itself).
   */
  CompletableFuture<String> start(String group, InstanceRole role);

  /**
   * Stops {@code instanceId} gracefully: it has already been drained (no request in flight) when
   * this is called, and the future completes once the process has exited.
   */
  CompletableFuture<Void> stop(String instanceId);

  /**
   * Whether this scaler can start and stop workers at all. A planner loop whose scaler cannot keeps
   * the instance count as it is: it neither asks for a worker nor drains an instance it could not
   * stop (a drain cordons the instance and moves its requests away, for nothing).
   */
  default boolean available() {
    return true;
  }
}
