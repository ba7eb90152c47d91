package dev.duet.controller.tidal;

import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.roles.RoleFlipper;
import io.vertx.core.Future;
import java.util.Objects;

/**
 * The {@link RoleFlipper} of a controller built without in-place flips: every flip answers "not
 * done" with the reason, so the planner's events say why the ratio did not change (and the instance
 * keeps its role). Replaced by the in-place flipper once it is merged.
 *
 * <p>Stateless apart from the registry it reads; thread-safe.
 */
public final class UnavailableRoleFlipper implements RoleFlipper {
  static final String WHY = "in-place role flips are not available in this build of the controller";

  private final InstanceRegistry registry;
  private final EventLog events;

  public UnavailableRoleFlipper(InstanceRegistry registry, EventLog events) {
    this.registry = Objects.requireNonNull(registry, "registry");
    this.events = Objects.requireNonNull(events, "events");
  }

  @Override
  public boolean available() {
    return false;
  }

  @Override
  public Future<FlipResult> flip(String instance, InstanceRole to) {
    InstanceRole from = registry.find(instance).map(v -> v.descriptor().role()).orElse(null);
    events.record(EventKind.FLIP, instance, null, "not flipped to " + to.wireName() + ": " + WHY);
    return Future.succeededFuture(new FlipResult(instance, from, to, false, 0, WHY));
  }
}
