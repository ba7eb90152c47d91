package dev.duet.controller.tidal;

import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.planner.Action;
import dev.duet.controller.planner.Decision;
import dev.duet.controller.planner.InstanceState;
import dev.duet.controller.planner.LoadTracker;
import dev.duet.controller.planner.Scaler;
import dev.duet.controller.planner.TidalPlanner;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.policy.VersionedPolicy;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.registry.StepTime;
import dev.duet.controller.roles.RoleFlipper;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the tidal planner against the live cluster: every {@code planner.intervalSeconds} of the
 * current policy (re-read each round, so a reload applies to the next one) it builds the {@link
 * InstanceState}s from the registry and its own record of flips, starts and stops in progress, asks
 * the {@link TidalPlanner} for a {@link Decision}, and carries out its actions: flips through the
 * {@link RoleFlipper}, scale-ups through the {@link Scaler}, scale-downs by draining through the
 * {@link Drainer} and then stopping through the {@link Scaler}. It never runs more flips in one
 * round than {@code planner.maxFlipsPerInterval}, never starts a worker past {@code
 * budget.maxInstances} (counting the ones starting), and never acts twice on an instance that is
 * flipping or stopping. Each action and its outcome is a {@code flip} or {@code scale} event whose
 * detail carries the decision's reasons.
 *
 * <p>An instance belongs to the scenario group it registered ({@code duet worker --group}, which
 * the scaler sets for the workers it starts for a group), or to the {@link Policy#DEFAULT_GROUP}
 * when the policy names no such group; routing sends it only that group's requests.
 *
 * <p>Threading: {@link #round} and the outcome callbacks synchronize on the loop; rounds run on a
 * Vert.x timer once {@link #start}ed, and never block (every action is asynchronous).
 */
public final class PlannerLoop implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PlannerLoop.class);

  /** How long a started worker may take to register before the loop stops waiting for it. */
  static final long START_TIMEOUT_MILLIS = 120_000;

  private final TidalPlanner planner;
  private final PolicyStore policies;
  private final InstanceRegistry registry;
  private final LoadTracker tracker;
  private final RoleFlipper flipper;
  private final Scaler scaler;
  private final Drainer drainer;
  private final EventLog events;
  private final LongSupplier millis;

  /**
   * When each instance took its current role, ms: when it was started, or its last flip began; 0
   * (long ago) for instances that were there before the loop saw them.
   */
  private final Map<String, Long> roleSince = new HashMap<>();

  /** Instances flipping now, to their new role. */
  private final Map<String, InstanceRole> flipping = new HashMap<>();

  /** Workers asked of the scaler that have not registered yet, by id (or a placeholder). */
  private final Map<String, Starting> starting = new LinkedHashMap<>();

  /** Instances draining or stopping. */
  private final Set<String> stopping = new HashSet<>();

  private long policyVersion;
  private long flipsDone;
  private long flipsNotDone;
  private long scaleUps;
  private long scaleDowns;
  private long scalingsSkipped;
  private int placeholders;
  private Vertx vertx;
  private long timer = -1;
  private boolean closed;

  private record Starting(String group, InstanceRole role, long sinceMillis) {}

  /**
   * @param millis the clock of rounds and of the {@link LoadTracker}'s samples, ms
   */
  public PlannerLoop(
      TidalPlanner planner,
      PolicyStore policies,
      InstanceRegistry registry,
      LoadTracker tracker,
      RoleFlipper flipper,
      Scaler scaler,
      Drainer drainer,
      EventLog events,
      LongSupplier millis) {
    this.planner = Objects.requireNonNull(planner, "planner");
    this.policies = Objects.requireNonNull(policies, "policies");
    this.registry = Objects.requireNonNull(registry, "registry");
    this.tracker = Objects.requireNonNull(tracker, "tracker");
    this.flipper = Objects.requireNonNull(flipper, "flipper");
    this.scaler = Objects.requireNonNull(scaler, "scaler");
    this.drainer = Objects.requireNonNull(drainer, "drainer");
    this.events = Objects.requireNonNull(events, "events");
    this.millis = Objects.requireNonNull(millis, "millis");
  }

  /** Runs a round every interval of the current policy, the first one interval from now. */
  public synchronized PlannerLoop start(Vertx vertx) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    schedule();
    return this;
  }

  private void schedule() {
    if (closed) {
      return;
    }
    long interval = policies.current().policy().planner().intervalMillis();
    timer =
        vertx.setTimer(
            interval,
            t -> {
              try {
                round();
              } catch (RuntimeException e) {
                LOG.error("planner round failed; the next one runs as planned", e);
              }
              synchronized (this) {
                schedule();
              }
            });
  }

  /** The planner this loop runs (for the operator API). */
  public TidalPlanner planner() {
    return planner;
  }

  /** The policy version the last round planned with, 0 before the first round. */
  public synchronized long policyVersion() {
    return policyVersion;
  }

  /**
   * What the loop has done since it started.
   *
   * @param flipsDone flips that changed a role
   * @param flipsNotDone flips the flipper could not do (the instance kept its role)
   * @param scaleUps workers started
   * @param scaleDowns workers drained and stopped
   */
  public record Counts(long flipsDone, long flipsNotDone, long scaleUps, long scaleDowns) {}

  public synchronized Counts counts() {
    return new Counts(flipsDone, flipsNotDone, scaleUps, scaleDowns);
  }

  /** One round now: plan with the current policy and carry out the decision. */
  public synchronized Decision round() {
    long now = millis.getAsLong();
    VersionedPolicy v = policies.current();
    if (v.version() != policyVersion) {
      planner.policyChanged(v.policy());
      policyVersion = v.version();
    }
    Decision d = planner.round(now, instances(now));
    execute(d, v.policy(), now);
    return d;
  }

  /**
   * Counts a worker started outside the loop (e.g. a cluster's first workers, started through the
   * same scaler) as starting until it registers, so that rounds before then neither start more for
   * the budget they take nor plan without them.
   */
  public synchronized void started(String id, String group, InstanceRole role) {
    if (registry.find(id).isEmpty()) {
      starting.put(id, new Starting(group, role, millis.getAsLong()));
    }
  }

  /** The instances as the planner sees them now. */
  public synchronized List<InstanceState> instances(long now) {
    List<InstanceState> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    Policy policy = policies.current().policy();
    for (InstanceView v : registry.alive()) {
      String id = v.id();
      seen.add(id);
      Starting started = starting.remove(id);
      // one it started took its role then; one that was there before the loop, long ago
      long since = roleSince.computeIfAbsent(id, x -> started != null ? started.sinceMillis() : 0);
      InstanceRole role = flipping.getOrDefault(id, v.descriptor().role());
      InstanceState.Phase phase =
          stopping.contains(id)
              ? InstanceState.Phase.STOPPING
              : flipping.containsKey(id)
                  ? InstanceState.Phase.FLIPPING
                  : InstanceState.Phase.ACTIVE;
      var cap = tracker.capacity(id);
      out.add(
          new InstanceState(
              id,
              group(v, policy),
              role,
              phase,
              cap.map(LoadTracker.InstanceCapacity::prefillTokensPerS).orElse(0.0),
              cap.map(LoadTracker.InstanceCapacity::decodeTokensPerS).orElse(0.0),
              v.descriptor().maxBatch(),
              (long) v.descriptor().kvBlocks() * v.descriptor().blockSize(),
              (long) v.load().freeKvBlocks() * v.descriptor().blockSize(),
              cap.map(LoadTracker.InstanceCapacity::decodeStep).orElse(StepTime.UNKNOWN),
              v.load().running(),
              v.load().queuedPromptTokens(),
              since));
    }
    roleSince.keySet().retainAll(seen);
    starting
        .entrySet()
        .removeIf(
            e -> {
              boolean late = now - e.getValue().sinceMillis() > START_TIMEOUT_MILLIS;
              if (late) {
                events.record(
                    EventKind.SCALE,
                    e.getKey(),
                    null,
                    "started " + START_TIMEOUT_MILLIS / 1000 + " s ago and never registered");
              }
              return late;
            });
    for (var e : starting.entrySet()) {
      Starting s = e.getValue();
      out.add(
          new InstanceState(
              e.getKey(),
              s.group(),
              s.role(),
              InstanceState.Phase.STARTING,
              0,
              0,
              policy.planner().defaultCapacity().maxBatch(),
              0,
              0,
              s.sinceMillis()));
    }
    return out;
  }

  private static String group(InstanceView v, Policy policy) {
    String g = v.descriptor().group();
    return policy.groupNames().contains(g) ? g : Policy.DEFAULT_GROUP;
  }

  private void execute(Decision d, Policy policy, long now) {
    int flips = 0;
    for (Action a : d.actions()) {
      String why = ActionText.reasons(d, a);
      switch (a) {
        case Action.Flip f -> {
          if (flips >= policy.planner().maxFlipsPerInterval() || busy(f.instanceId())) {
            continue;
          }
          flips++;
          flip(f, why, now);
        }
        case Action.ScaleDown _ when !scaler.available() -> noScaler(a, why);
        case Action.ScaleUp _ when !scaler.available() -> noScaler(a, why);
        case Action.ScaleDown s -> {
          if (!busy(s.instanceId())) {
            scaleDown(s, why);
          }
        }
        case Action.ScaleUp u -> {
          if (registry.alive().size() + starting.size() < policy.budget().maxInstances()) {
            scaleUp(u, why, now);
          }
        }
      }
    }
  }

  /**
   * A scaling the planner wants but this loop's scaler cannot do: the instance count stays as it is
   * (flips still run). Said once as an event, then only logged, since the planner asks again every
   * round its cooldown allows.
   */
  private void noScaler(Action a, String why) {
    scalingsSkipped++;
    String what =
        switch (a) {
          case Action.ScaleDown s -> "stopping " + s.instanceId();
          case Action.ScaleUp u -> "starting a " + ActionText.role(u.role()) + " instance";
          case Action.Flip f -> throw new IllegalArgumentException("not a scaling: " + f);
        };
    String detail =
        "planner: not "
            + what
            + ": this controller has no scaler, so the instance count stays (flips still run): "
            + why;
    if (scalingsSkipped == 1) {
      events.record(EventKind.SCALE, null, null, detail);
    } else {
      LOG.debug(detail);
    }
  }

  private boolean busy(String id) {
    return flipping.containsKey(id) || stopping.contains(id);
  }

  private void flip(Action.Flip f, String why, long now) {
    flipping.put(f.instanceId(), f.to());
    roleSince.put(f.instanceId(), now);
    events.record(
        EventKind.FLIP,
        f.instanceId(),
        null,
        "planner: flipping " + ActionText.arrow(f) + ": " + why);
    flipper
        .flip(f.instanceId(), f.to())
        .onComplete(
            r -> {
              synchronized (this) {
                flipping.remove(f.instanceId());
                if (r.succeeded() && r.result().done()) {
                  flipsDone++;
                  planner.flipTook(f.to(), r.result().millis());
                } else {
                  flipsNotDone++;
                }
              }
              // a flipper records its own outcome; only a failed future (a broken flipper) is ours
              if (r.failed()) {
                events.record(
                    EventKind.FLIP,
                    f.instanceId(),
                    null,
                    "flip " + ActionText.arrow(f) + " failed: " + r.cause().getMessage());
              }
            });
  }

  private void scaleUp(Action.ScaleUp u, String why, long now) {
    String placeholder = "starting-" + ++placeholders;
    starting.put(placeholder, new Starting(u.group(), u.role(), now));
    events.record(
        EventKind.SCALE,
        null,
        null,
        "planner: starting a " + ActionText.role(u.role()) + " instance: " + why);
    scaler
        .start(u.group(), u.role())
        .whenComplete(
            (id, e) -> {
              synchronized (this) {
                Starting s = starting.remove(placeholder);
                if (e == null && s != null) {
                  if (registry.find(id).isEmpty()) {
                    starting.put(id, s);
                  } else {
                    roleSince.put(id, s.sinceMillis());
                  }
                }
                if (e == null) {
                  scaleUps++;
                }
              }
              events.record(
                  EventKind.SCALE,
                  e == null ? id : null,
                  null,
                  e == null
                      ? "started " + ActionText.role(u.role()) + " instance " + id
                      : "could not start a "
                          + ActionText.role(u.role())
                          + " instance: "
                          + e.getMessage());
            });
  }

  private void scaleDown(Action.ScaleDown s, String why) {
    String id = s.instanceId();
    stopping.add(id);
    events.record(EventKind.SCALE, id, null, "planner: draining before it stops: " + why);
    drainer
        .drain(id)
        .toCompletionStage()
        .thenCompose(v -> scaler.stop(id))
        .whenComplete(
            (v, e) -> {
              synchronized (this) {
                stopping.remove(id);
                if (e == null) {
                  scaleDowns++;
                  registry.remove(id);
                  tracker.forgetInstance(id);
                } else {
                  registry.cordon(id, false); // it keeps serving
                }
              }
              events.record(
                  EventKind.SCALE,
                  id,
                  null,
                  e == null ? "stopped" : "not stopped (uncordoned): " + ActionText.rootMessage(e));
            });
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (timer >= 0 && vertx != null) {
      vertx.cancelTimer(timer);
    }
  }
}
