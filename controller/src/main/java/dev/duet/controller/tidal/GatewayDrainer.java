package dev.duet.controller.tidal;

import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.gateway.Gateway;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Drains an instance through the controller so that no request is dropped: cordons it (routing
 * sends it nothing new), moves a decode instance's running requests away by live migration, then
 * waits until no request streams from it and a heartbeat sent after the cordon reports it idle
 * (nothing queued, nothing running: a prefill instance has finished its queue).
 *
 * <p>Threading: polls on a Vert.x timer; the future completes on the event loop.
 */
public final class GatewayDrainer implements Drainer {
  static final long POLL_MILLIS = 200;

  /** Migrations a drain runs at once. */
  static final int PARALLEL = 2;

  private final Vertx vertx;
  private final Gateway gateway;
  private final InstanceRegistry registry;
  private final EventLog events;
  private final Duration timeout;

  /**
   * @param timeout how long an instance may take to empty before the drain fails
   */
  public GatewayDrainer(
      Vertx vertx, Gateway gateway, InstanceRegistry registry, EventLog events, Duration timeout) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.gateway = Objects.requireNonNull(gateway, "gateway");
    this.registry = Objects.requireNonNull(registry, "registry");
    this.events = Objects.requireNonNull(events, "events");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  @Override
  public Future<Void> drain(String id) {
    Optional<InstanceView> found = registry.find(id);
    if (found.isEmpty()) {
      return Future.failedFuture(new IllegalStateException("no instance " + id + " to drain"));
    }
    registry.cordon(id, true);
    long cordonedAt = System.nanoTime();
    events.record(EventKind.DRAIN, id, null, "draining before a scale-down");
    Future<?> moved =
        found.get().descriptor().role() == InstanceRole.DECODE
            ? gateway.migrator().drain(id, PARALLEL)
            : Future.succeededFuture();
    Promise<Void> idle = Promise.promise();
    long deadline = cordonedAt + timeout.toNanos();
    moved.onComplete(x -> poll(id, cordonedAt, deadline, idle));
    return idle.future();
  }

  private void poll(String id, long cordonedAt, long deadline, Promise<Void> idle) {
    Optional<InstanceView> v = registry.find(id);
    boolean heardSince =
        v.isPresent()
            && v.get().lastHeartbeatNanos() - cordonedAt
                > InstanceRegistry.HEARTBEAT_INTERVAL.toNanos() / 2;
    if (v.isEmpty() || !v.get().alive()) {
      idle.tryFail(new IllegalStateException("instance " + id + " died while draining"));
    } else if (heardSince
        && v.get().load().running() == 0
        && v.get().load().queued() == 0
        && gateway.inFlight().streamingFrom(id) == 0) {
      events.record(EventKind.DRAIN, id, null, "drained: no request left");
      idle.tryComplete();
    } else if (System.nanoTime() > deadline) {
      idle.tryFail(
          new IllegalStateException(
              "instance "
                  + id
                  + " still holds "
                  + v.get().load().running()
                  + " running and "
                  + v.get().load().queued()
                  + " queued requests after "
                  + timeout.toSeconds()
                  + " s of draining; it stays cordoned"));
    } else {
      vertx.setTimer(POLL_MILLIS, t -> poll(id, cordonedAt, deadline, idle));
    }
  }
}
