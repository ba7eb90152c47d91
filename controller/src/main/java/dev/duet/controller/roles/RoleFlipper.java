package dev.duet.controller.roles;

import dev.duet.controller.registry.InstanceRole;
import io.vertx.core.Future;
import java.util.Objects;

/**
 * Changes an instance's role in place (its weights stay loaded: seconds, not a cold start), never
 * dropping a request: prefill → decode stops admitting and finishes its queue first; decode →
 * prefill drains its running requests by live migration first.
 *
 * <p>Threading: may be called from any thread; the future completes on the controller's event loop.
 */
public interface RoleFlipper {

  /**
   * Flips {@code instance} to {@code to}. Completes when the instance serves in its new role, or
   * when the flip could not be done (the result says why; the instance then keeps its old role and
   * is uncordoned). Never fails the future.
   */
  Future<FlipResult> flip(String instance, InstanceRole to);

  /**
   * {@link #flip(String, InstanceRole)}, which by default refuses to flip the last live instance of
   * its role; {@code evenIfLast} flips it anyway (the operator's call), warning in the detail.
   */
  default Future<FlipResult> flip(String instance, InstanceRole to, boolean evenIfLast) {
    return flip(instance, to);
  }

  /** Whether this flipper can flip at all (the operator API and the planner say so when not). */
  default boolean available() {
    return true;
  }

  /** Whether a flip of {@code instance} is under way now. */
  default boolean flipping(String instance) {
    return false;
  }

  /**
   * What a flip did.
   *
   * @param instance the instance
   * @param from its role before
   * @param to the role asked for
   * @param done whether it now serves as {@code to}
   * @param millis how long the flip took, drain included
   * @param detail a sentence for the operator (why not, or what was drained)
   */
  record FlipResult(
      String instance,
      InstanceRole from,
      InstanceRole to,
      boolean done,
      long millis,
      String detail) {
    public FlipResult {
      Objects.requireNonNull(instance, "instance");
      Objects.requireNonNull(to, "to");
      Objects.requireNonNull(detail, "detail");
    }
  }
}
