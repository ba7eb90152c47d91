package dev.duet.controller.roles;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.gateway.Migrator;
import dev.duet.controller.gateway.WorkerClient;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flips a prefill or decode instance to the other role in place: cordon it (routing sends it
 * nothing new); a decode instance first has its running requests moved away by live migration, and
 * again whenever requests reserved before the cordon begin decoding there (their prefill was under
 * way); then wait until it holds nothing (polling its {@code /internal/v1/load} until two polls in
 * a row find nothing queued, running or reserved: requests that could not move, and a prefill
 * instance's queue, finish there); then {@code POST /internal/v1/role} on the worker, take the role
 * from its answer into the registry, lift the cordon (one the operator had set stays) and record a
 * {@link EventKind#FLIP} event saying what was drained and how long it took. If the instance does
 * not empty within {@link Options#emptyTimeout} it is given back its old role, uncordoned, and the
 * result says so. The last live, uncordoned instance of a role is not flipped unless asked to
 * ({@link FlipCheck}). One flip per instance at a time.
 *
 * <p>Threading: {@link #flip} may be called from any thread; each flip runs on the event-loop
 * context this flipper was built on (like the rebalancer's timer), with non-blocking calls only.
 */
public final class InPlaceRoleFlipper implements RoleFlipper, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(InPlaceRoleFlipper.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How long a call to the worker (a load look, the role change) may go unanswered. */
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);

  /**
   * How long after a drain a decode instance that still runs requests is drained again: a stream
   * whose migration found no target with room stays where it is, and would otherwise hold the flip
   * until its answer ends (17 s for a 425-token answer in {@code duet bench tidal}).
   */
  static final Duration DRAIN_RETRY = Duration.ofMillis(500);

  /**
   * How a flip waits.
   *
   * @param emptyTimeout how long the instance may take to empty before the flip is given up
   * @param pollInterval between two looks at the instance's load
   * @param parallel migrations a decode instance's drain runs at once
   */
  public record Options(Duration emptyTimeout, Duration pollInterval, int parallel) {
    public Options {
      Objects.requireNonNull(emptyTimeout, "emptyTimeout");
      Objects.requireNonNull(pollInterval, "pollInterval");
      if (emptyTimeout.isNegative() || pollInterval.toMillis() < 1 || parallel < 1) {
        throw new IllegalArgumentException(
            "emptyTimeout must be >= 0, pollInterval >= 1 ms and parallel >= 1; got "
                + emptyTimeout
                + ", "
                + pollInterval
                + ", "
                + parallel);
      }
    }

    /** 60 s to empty, a look every 50 ms, {@link Migrator#DRAIN_PARALLEL} migrations at once. */
    public static Options defaults() {
      return new Options(Duration.ofSeconds(60), Duration.ofMillis(50), Migrator.DRAIN_PARALLEL);
    }
  }

  private final Vertx vertx;
  private final Context context;
  private final HttpClient client;
  private final WorkerClient workers;
  private final InstanceRegistry registry;
  private final Migrator migrator;
  private final EventLog events;
  private final Options options;
  private final LongSupplier nanoClock;
  private final Set<String> flipping = ConcurrentHashMap.newKeySet();

  /**
   * @param nanoClock monotonic nanoseconds (e.g. {@code System::nanoTime}), for the timeout and the
   *     durations reported
   */
  public InPlaceRoleFlipper(
      Vertx vertx,
      InstanceRegistry registry,
      Migrator migrator,
      EventLog events,
      Options options,
      LongSupplier nanoClock) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.client = vertx.createHttpClient();
    this.workers = new WorkerClient(client);
    this.registry = Objects.requireNonNull(registry, "registry");
    this.migrator = Objects.requireNonNull(migrator, "migrator");
    this.events = Objects.requireNonNull(events, "events");
    this.options = Objects.requireNonNull(options, "options");
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
  }

  @Override
  public Future<FlipResult> flip(String instance, InstanceRole to) {
    return flip(instance, to, false);
  }

  @Override
  public boolean flipping(String instance) {
    return flipping.contains(instance);
  }

  @Override
  public Future<FlipResult> flip(String instance, InstanceRole to, boolean evenIfLast) {
    long start = nanoClock.getAsLong();
    Promise<FlipResult> result = Promise.promise();
    boolean claimed = flipping.add(instance); // at once, so a second call is refused
    context.runOnContext(
        v -> {
          Optional<InstanceView> view = registry.find(instance);
          InstanceRole from = view.map(i -> i.descriptor().role()).orElse(null);
          Optional<FlipCheck.Refusal> no =
              FlipCheck.refusal(registry.alive(), instance, to, !claimed, evenIfLast);
          if (no.isPresent() || from == to) {
            if (claimed) {
              flipping.remove(instance);
            }
            boolean already = no.isEmpty();
            result.complete(
                new FlipResult(
                    instance,
                    from,
                    to == null ? InstanceRole.BOTH : to,
                    already,
                    millisSince(start),
                    already ? instance + " is " + to.wireName() + " already" : no.get().message()));
            return;
          }
          new Run(view.get(), to, evenIfLast, start, result).start();
        });
    return result.future();
  }

  private long millisSince(long startNanos) {
    return (nanoClock.getAsLong() - startNanos) / 1_000_000;
  }

  /** One flip's steps, on the context. */
  private final class Run {
    private final InstanceView view;
    private final String id;
    private final InstanceRole from;
    private final InstanceRole to;
    private final long start;
    private final long deadline;
    private final Promise<FlipResult> result;
    private final boolean wasCordoned;
    private final String warning;
    private List<Migrator.Result> migrations = List.of();
    private String firstHeld; // what it held at the first look, for the detail
    private long drainedAt;
    private int runningAtLastDrain = 0; // a decode instance is drained again when this changes

    Run(
        InstanceView view,
        InstanceRole to,
        boolean evenIfLast,
        long start,
        Promise<FlipResult> result) {
      this.view = view;
      this.id = view.id();
      this.from = view.descriptor().role();
      this.to = to;
      this.start = start;
      this.deadline = start + options.emptyTimeout().toNanos();
      this.result = result;
      this.wasCordoned = view.cordoned();
      this.warning =
          evenIfLast && FlipCheck.othersOfRole(registry.alive(), id, from) == 0
              ? "warning: it was the only live "
                  + from.wireName()
                  + " instance, none is left to serve "
                  + from.wireName()
                  + "; "
              : "";
    }

    void start() {
      registry.cordon(id, true);
      LOG.info("flipping {} from {} to {}: cordoned", id, from.wireName(), to.wireName());
      if (from == InstanceRole.DECODE) {
        migrator
            .drain(id, options.parallel())
            .onComplete(
                ar -> {
                  migrations = ar.succeeded() ? ar.result() : List.of();
                  drainedAt = nanoClock.getAsLong();
                  look(0);
                });
      } else {
        drainedAt = nanoClock.getAsLong();
        look(0);
      }
    }

    /** Looks at the instance's load; flips after two empty looks in a row. */
    private void look(int emptyLooks) {
      get(view.descriptor().endpoint(), "/internal/v1/load")
          .onComplete(
              ar -> {
                JsonNode load = ar.succeeded() ? ar.result() : null;
                if (load == null) {
                  if (registry.find(id).map(i -> !i.alive()).orElse(true)) {
                    end(false, "it died while draining: " + ar.cause());
                    return;
                  }
                  later(0);
                  return;
                }
                int queued = load.path("queued").asInt();
                int running = load.path("running").asInt();
                int reserved = load.path("reserved").asInt();
                if (firstHeld == null) {
                  firstHeld =
                      queued + " queued, " + running + " running, " + reserved + " reserved";
                }
                if (from == InstanceRole.DECODE
                    && running > 0
                    && (running != runningAtLastDrain
                        || nanoClock.getAsLong() - drainedAt >= DRAIN_RETRY.toNanos())) {
                  // requests reserved before the cordon have begun decoding here, or a migration
                  // found no room elsewhere a moment ago (streams end and free KV all the time):
                  // move them (again) rather than wait out their answers
                  runningAtLastDrain = running;
                  migrator
                      .drain(id, options.parallel())
                      .onComplete(
                          d -> {
                            if (d.succeeded()) {
                              migrations =
                                  Stream.concat(migrations.stream(), d.result().stream()).toList();
                            }
                            drainedAt = nanoClock.getAsLong();
                            later(0);
                          });
                  return;
                }
                if (queued + running + reserved == 0) {
                  if (emptyLooks + 1 >= 2) {
                    post();
                  } else {
                    later(emptyLooks + 1);
                  }
                  return;
                }
                if (nanoClock.getAsLong() > deadline) {
                  end(
                      false,
                      "it still held "
                          + queued
                          + " queued, "
                          + running
                          + " running, "
                          + reserved
                          + " reserved requests after "
                          + options.emptyTimeout().toSeconds()
                          + " s; gave up, it stays "
                          + from.wireName());
                  return;
                }
                later(0);
              });
    }

    private void later(int emptyLooks) {
      if (nanoClock.getAsLong() > deadline) {
        end(false, "it could not be reached within " + options.emptyTimeout().toSeconds() + " s");
        return;
      }
      vertx.setTimer(options.pollInterval().toMillis(), t -> look(emptyLooks));
    }

    /** Tells the worker its new role; it refuses (409) if anything arrived meanwhile. */
    private void post() {
      workers
          .send(
              view.descriptor().endpoint(),
              "/internal/v1/role",
              JSON.createObjectNode().put("role", to.wireName()).toString(),
              CALL_TIMEOUT)
          .onComplete(
              ar -> {
                if (ar.failed()) {
                  end(false, "the worker did not answer the flip: " + ar.cause());
                  return;
                }
                int status = ar.result().status();
                JsonNode answer = parse(ar.result().body());
                if (status == 200) {
                  registry.updateRole(id, to, answer.path("role_epoch").asLong());
                  end(true, drained());
                } else if (status == 409 && nanoClock.getAsLong() <= deadline) {
                  LOG.info("flip of {}: the worker refused ({}); waiting", id, answer);
                  later(0);
                } else {
                  end(
                      false,
                      "the worker refused the flip ("
                          + status
                          + "): "
                          + answer.path("error").path("message").asText(answer.toString()));
                }
              });
    }

    private String drained() {
      long waitedMs = (nanoClock.getAsLong() - drainedAt) / 1_000_000;
      if (from == InstanceRole.DECODE) {
        // a request tried in two drains counts once, as moved if either moved it
        Map<String, Boolean> requests = new HashMap<>();
        migrations.forEach(m -> requests.merge(m.request(), m.migrated(), Boolean::logicalOr));
        long moved = requests.values().stream().filter(b -> b).count();
        return "migrated "
            + moved
            + " of "
            + requests.size()
            + " running requests away ("
            + (requests.size() - moved)
            + " finished there), then waited "
            + waitedMs
            + " ms for it to empty";
      }
      return "waited " + waitedMs + " ms for its prompts to finish (" + firstHeld + " at first)";
    }

    private void end(boolean done, String why) {
      if (!wasCordoned) {
        registry.cordon(id, false);
      }
      flipping.remove(id);
      long ms = millisSince(start);
      String detail =
          warning
              + (done
                  ? from.wireName() + " → " + to.wireName() + " in " + ms + " ms: " + why
                  : "not flipped to " + to.wireName() + " after " + ms + " ms: " + why);
      events.record(EventKind.FLIP, id, null, detail);
      LOG.info("flip of {}: {}", id, detail);
      result.complete(new FlipResult(id, from, to, done, ms, detail));
    }
  }

  /** The JSON body of a 200 answer to a GET of {@code path}, else a failure naming the status. */
  private Future<JsonNode> get(String endpoint, String path) {
    return workers
        .get(endpoint, path, CALL_TIMEOUT)
        .compose(
            a ->
                a.status() == 200
                    ? Future.succeededFuture(parse(a.body()))
                    : Future.failedFuture(endpoint + path + " answered " + a.status()));
  }

  /** A worker's JSON answer, an empty object when unreadable. */
  private static JsonNode parse(Buffer b) {
    try {
      return JSON.readTree(b.getBytes());
    } catch (java.io.IOException e) {
      return JSON.createObjectNode();
    }
  }

  @Override
  public void close() {
    client.close();
  }
}
