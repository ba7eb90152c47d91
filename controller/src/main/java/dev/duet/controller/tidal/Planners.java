package dev.duet.controller.tidal;

import dev.duet.controller.admin.AdminApi;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.gateway.Gateway;
import dev.duet.controller.gateway.GatewayMetrics;
import dev.duet.controller.planner.LoadTracker;
import dev.duet.controller.planner.Scaler;
import dev.duet.controller.planner.TidalPlanner;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.roles.RoleFlipper;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * Wires the tidal planner into a controller: a {@link LoadTracker} fed by the gateway and the
 * heartbeats ({@link LoadFeed}), the gateway's scenario groups (classified by the store's policy),
 * the {@link TidalPlanner} and its {@link PlannerLoop} (started only when asked), and the policy
 * and planner endpoints of the operator API ({@link PlannerAdmin}). The controller command and the
 * test cluster both call it, so they run the same wiring.
 *
 * <p>Stateless.
 */
public final class Planners {

  /** How long an instance may take to drain before a scale-down gives up on it. */
  public static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(5);

  /** The scaler of a controller that starts and stops no worker: each request fails, saying so. */
  public static final Scaler NO_SCALER =
      new Scaler() {
        @Override
        public CompletableFuture<String> start(String group, InstanceRole role) {
          return CompletableFuture.failedFuture(
              new UnsupportedOperationException(
                  "this controller has no scaler (duet controller --scaler local starts workers)"));
        }

        @Override
        public CompletableFuture<Void> stop(String instanceId) {
          return CompletableFuture.failedFuture(
              new UnsupportedOperationException(
                  "this controller has no scaler to stop " + instanceId));
        }

        @Override
        public boolean available() {
          return false;
        }
      };

  private Planners() {}

  /**
   * The tracker's window for a policy: two planning intervals, within [10 s, 60 s], so that a
   * compressed day with short intervals is not planned from a window that spans several of them.
   */
  public static Duration window(Policy policy) {
    return Duration.ofMillis(Math.clamp(2 * policy.planner().intervalMillis(), 10_000, 60_000));
  }

  /**
   * The TTFT budget of {@code policies}' current policy ({@code admission.ttftBudgetMs}), read at
   * each call: what the controller hands {@link Gateway#ttftBudgetBy} unless {@code
   * --ttft-budget-ms} overrides it, so a policy reload applies to the next request.
   */
  public static java.util.function.Supplier<Duration> ttftBudget(PolicyStore policies) {
    return () ->
        Duration.ofNanos(Math.round(policies.current().policy().admission().ttftBudgetMs() * 1e6));
  }

  /**
   * Wires it all; the loop runs rounds only when {@code run}.
   *
   * @return the loop (close it on shutdown)
   */
  public static PlannerLoop wire(
      Vertx vertx,
      PolicyStore policies,
      InstanceRegistry registry,
      Gateway gateway,
      GatewayMetrics metrics,
      AdminApi admin,
      EventLog events,
      RoleFlipper flipper,
      Scaler scaler,
      boolean run) {
    LongSupplier millis = System::currentTimeMillis;
    LoadTracker tracker = new LoadTracker(window(policies.current().policy()));
    LoadFeed feed = new LoadFeed(tracker, millis);
    gateway.classifyBy(policies);
    metrics.listen(feed);
    registry.onHeartbeat(feed::heartbeat);
    PlannerLoop loop =
        new PlannerLoop(
            new TidalPlanner(tracker, policies.current().policy()),
            policies,
            registry,
            tracker,
            flipper,
            scaler,
            new GatewayDrainer(vertx, gateway, registry, events, DRAIN_TIMEOUT),
            events,
            millis);
    PlannerAdmin.register(admin, policies, loop, run, flipper.available(), millis);
    if (run) {
      loop.start(vertx);
    }
    return loop;
  }
}
