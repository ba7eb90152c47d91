package dev.duet.controller.tidal;

import io.vertx.core.Future;

/**
 * Empties an instance before it stops: keeps new requests away from it and waits until it holds
 * none (decode instances move theirs away by live migration; prefill instances finish their queue).
 * The seam between the {@link PlannerLoop}'s scale-downs and the gateway.
 *
 * <p>Threading: may be called from any thread; the future completes on the controller's event loop.
 */
public interface Drainer {
  /**
   * Drains {@code instanceId}. Completes once it holds no request; fails (with a message naming the
   * instance) when that did not happen in time, leaving it cordoned.
   */
  Future<Void> drain(String instanceId);
}
