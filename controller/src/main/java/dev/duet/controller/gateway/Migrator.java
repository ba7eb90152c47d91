package dev.duet.controller.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.routing.GroupScope;
import dev.duet.controller.routing.Router;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live migration of a running request from its decode instance to another, driven by the
 * controller. The target reserves blocks and answers a ticket; the source copies the request's KV
 * into them in stages while it keeps decoding, freezes it between two steps once the delta is
 * small, copies the rest and answers its snapshot; the target resumes it and streams from the next
 * token; the source is told to commit (free). The client's answer reads both sources in token order
 * ({@code seq}), so nothing is lost, repeated or reordered. Every abort path (the target cannot
 * reserve, the request ends or is cancelled meanwhile, the target fails, too many stages) leaves
 * the request running on the source and gives the target's reservation back.
 *
 * <p>Threading: the controller's event loop.
 */
public final class Migrator {

  private static final Logger LOG = LoggerFactory.getLogger(Migrator.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * How the source copies.
   *
   * @param maxStages copies made while the request keeps decoding before giving up
   * @param deltaTokens positions left to copy at or under which the request is frozen
   */
  public record Options(int maxStages, int deltaTokens) {
    public Options {
      if (maxStages < 0 || deltaTokens < 1) {
        throw new IllegalArgumentException(
            "maxStages must be >= 0 and deltaTokens >= 1, got " + maxStages + ", " + deltaTokens);
      }
    }

    public static Options defaults() {
      return new Options(8, 16);
    }
  }

  /**
   * What a migration did.
   *
   * @param request the request id
   * @param outcome {@code migrated}, or why not: {@code not_found}, {@code not_movable}, {@code
   *     no_target}, {@code target_refused}, {@code request_finished}, {@code gave_up}, {@code
   *     target_failed}, {@code source_failed}, {@code client_gone}
   * @param source the instance it ran on
   * @param target the instance it was moved to (or meant to be)
   * @param downtimeNanos from the freeze on the source to the first event from the target (0 unless
   *     migrated)
   * @param stages copies made
   * @param bytes KV bytes copied
   * @param detail a sentence for the operator
   */
  public record Result(
      String request,
      String outcome,
      String source,
      String target,
      long downtimeNanos,
      int stages,
      long bytes,
      String detail) {

    public boolean migrated() {
      return outcome.equals("migrated");
    }

    public ObjectNode toJson() {
      ObjectNode o = JSON.createObjectNode();
      o.put("request", request);
      o.put("outcome", outcome);
      o.put("source", source);
      o.put("target", target);
      o.put("downtime_ms", downtimeNanos / 1e6);
      o.put("stages", stages);
      o.put("bytes", bytes);
      o.put("detail", detail);
      return o;
    }
  }

  /**
   * Migrations a drain runs at once (an operator's drain and a decode → prefill flip). Each one
   * spends most of its time waiting for step boundaries (a copy stage, the freeze, the target's
   * next step), so they overlap almost for free: at two at a time, a flip of an instance running 33
   * streams on 0.2×-speed emulated GPUs took 6.6 s.
   */
  public static final int DRAIN_PARALLEL = 8;

  private final InFlight inFlight;
  private final InstanceRegistry registry;

  private final WorkerClient workers;
  private final GatewayMetrics metrics;
  private final Options defaults;
  private final EventLog events;
  private final java.util.function.Supplier<GroupScope> groups;
  private final java.util.function.ToDoubleFunction<String> batchCapTpotMs;

  /**
   * @param groups which instances serve which scenario group now: a request moves only to its own
   *     group's decode instances, or the default group's when its group has no other
   * @param batchCapTpotMs the TPOT SLO that caps a group's decode batches (0: none), so that a move
   *     prefers a target under its cap ({@link Router#batchCap})
   */
  Migrator(
      InFlight inFlight,
      InstanceRegistry registry,
      WorkerClient workers,
      GatewayMetrics metrics,
      Options options,
      EventLog events,
      java.util.function.Supplier<GroupScope> groups,
      java.util.function.ToDoubleFunction<String> batchCapTpotMs) {
    this.events = events;
    this.groups = groups;
    this.batchCapTpotMs = batchCapTpotMs;
    this.inFlight = inFlight;
    this.registry = registry;
    this.workers = workers;
    this.metrics = metrics;
    this.defaults = options;
  }

  /**
   * Moves request {@code id} to {@code targetId}, or to the decode instance with the most free KV
   * blocks when that is null. Completes when the target has sent its first event (or the migration
   * was given up), never failed: the result says what happened. May be called from any thread: the
   * work runs on the request's event loop.
   */
  public Future<Result> migrate(String id, String targetId) {
    return migrate(id, targetId, defaults);
  }

  /** {@link #migrate(String, String)} with its own copy options. */
  public Future<Result> migrate(String id, String targetId, Options options) {
    Optional<RequestSession> found = inFlight.find(id);
    if (found.isEmpty()) {
      return done(
          new Result(id, "not_found", null, targetId, 0, 0, 0, "no such request in flight"));
    }
    RequestSession s = found.get();
    if (s.context != null && io.vertx.core.Vertx.currentContext() != s.context) {
      // Everything about a request's answer happens on its event loop.
      Promise<Result> hop = Promise.promise();
      s.context.runOnContext(v -> migrateHere(s, targetId, options).onComplete(hop));
      return hop.future();
    }
    return migrateHere(s, targetId, options);
  }

  private Future<Result> migrateHere(RequestSession s, String targetId, Options options) {
    if (s.stream.done()) {
      return done(
          new Result(s.id, "not_found", null, targetId, 0, 0, 0, "the request has just ended"));
    }
    String sourceId = s.instance();
    Optional<InstanceView> source = sourceId == null ? Optional.empty() : registry.find(sourceId);
    if (source.isEmpty() || source.get().descriptor().role() != InstanceRole.DECODE) {
      return done(
          result(s, "not_movable", sourceId, targetId, "it is not decoding on a decode instance"));
    }
    if (s.migrating) {
      return done(result(s, "not_movable", sourceId, targetId, "it is being migrated already"));
    }
    Optional<InstanceView> target = target(s, sourceId, targetId);
    if (target.isEmpty()) {
      return done(
          result(
              s,
              "no_target",
              sourceId,
              targetId,
              targetId == null
                  ? "no other live decode instance of its group (" + s.group + ") has room for it"
                  : targetId
                      + " is not a live decode instance of its group ("
                      + s.group
                      + ") other than the source"));
    }
    s.migrating = true;
    // Counted now, as the gateway counts what it routes: the next migration of a drain (and the
    // next request routed) sees the target's room less this one's blocks before its next report
    InstanceView to = target.get();
    registry.noteRouted(to.id(), 0, to.descriptor().blocksFor(s.lifetimeTokens));
    Promise<Result> result = Promise.promise();
    new Run(s, source.get(), to, options, result).start();
    return result.future().onComplete(ar -> s.migrating = false);
  }

  /**
   * Migrates every request streaming from {@code instance} elsewhere, {@code parallel} at a time,
   * shortest-running first; completes with each one's result. The caller stops new requests going
   * there first (cordon), so that the instance empties.
   */
  public Future<List<Result>> drain(String instance, int parallel) {
    ArrayDeque<RequestSession> queue = new ArrayDeque<>(inFlight.on(instance));
    List<Result> results = Collections.synchronizedList(new ArrayList<>());
    Promise<List<Result>> all = Promise.promise();
    AtomicInteger active = new AtomicInteger();
    Runnable[] next = new Runnable[1];
    next[0] =
        () -> {
          synchronized (queue) {
            while (active.get() < Math.max(1, parallel) && !queue.isEmpty()) {
              RequestSession s = queue.poll();
              active.incrementAndGet();
              migrate(s.id, null)
                  .onComplete(
                      ar -> {
                        results.add(ar.result());
                        active.decrementAndGet();
                        next[0].run();
                      });
            }
            if (queue.isEmpty() && active.get() == 0) {
              all.tryComplete(List.copyOf(results));
            }
          }
        };
    next[0].run();
    return all.future();
  }

  /**
   * The target: among the live, uncordoned decode instances other than the source that could hold
   * the request, those of its scenario group (the default group's when its group has none: {@link
   * GroupScope}), the one with the most free KV blocks, preferring those running fewer streams than
   * the group's TPOT SLO allows ({@link Router#batchCap}: a drain must move its streams somewhere,
   * so a target at its cap still takes one when none is under it), or {@code targetId} if it is one
   * of them. Free blocks are as the registry guesses them, less what was routed or migrated there
   * since the instance's last report (a drain starts several migrations within one report; by
   * reported room alone, all of them would go to the same instance).
   */
  private Optional<InstanceView> target(RequestSession s, String sourceId, String targetId) {
    GroupScope.Choice choice =
        groups
            .get()
            .choose(
                registry.alive(),
                s.group,
                i ->
                    i.descriptor().role() == InstanceRole.DECODE
                        && !i.id().equals(sourceId)
                        && !i.cordoned()
                        && i.descriptor().blocksFor(s.lifetimeTokens) <= i.descriptor().kvBlocks());
    Optional<InstanceView> target =
        preferred(choice.instances(), targetId, batchCapTpotMs.applyAsDouble(s.group));
    if (target.isPresent() && choice.fallback()) {
      metrics.groupFallback(s.group);
    }
    return target;
  }

  /**
   * Of {@code candidates} ({@code targetId}'s alone when it is given), one under its batch cap at
   * {@code tpotMs} ({@link Router#underBatchCap}; 0: no cap) before one at it, then the most free
   * KV blocks.
   */
  static Optional<InstanceView> preferred(
      List<InstanceView> candidates, String targetId, double tpotMs) {
    return candidates.stream()
        .filter(i -> targetId == null || i.id().equals(targetId))
        .max(
            Comparator.comparing((InstanceView i) -> Router.underBatchCap(i, tpotMs))
                .thenComparingInt(i -> i.load().freeKvBlocks()));
  }

  private Future<Result> done(Result r) {
    metrics.migration(r.outcome(), r.downtimeNanos(), r.bytes(), r.stages());
    if (!r.outcome().equals("not_found")) {
      events.record(
          EventKind.MIGRATION,
          r.source(),
          r.request(),
          r.migrated()
              ? String.format(
                  "migrated to %s: downtime %.2f ms, %d stages, %d bytes",
                  r.target(), r.downtimeNanos() / 1e6, r.stages(), r.bytes())
              : r.outcome() + ": " + r.detail());
    }
    if (!r.migrated()) {
      LOG.info("migration of {}: {} ({})", r.request(), r.outcome(), r.detail());
    }
    return Future.succeededFuture(r);
  }

  private static Result result(
      RequestSession s, String outcome, String source, String target, String detail) {
    return new Result(s.id, outcome, source, target, 0, 0, 0, detail);
  }

  /** One migration's steps. */
  private final class Run {
    private final RequestSession s;
    private final InstanceView source;
    private final InstanceView target;
    private final Options options;
    private final Promise<Result> result;
    private final int recoveries;
    private int stages;
    private long bytes;

    Run(
        RequestSession s,
        InstanceView source,
        InstanceView target,
        Options options,
        Promise<Result> result) {
      this.s = s;
      this.source = source;
      this.target = target;
      this.options = options;
      this.result = result;
      this.recoveries = s.recoveries;
    }

    void start() {
      ObjectNode reserve = JSON.createObjectNode().put("id", s.id).put("tokens", s.lifetimeTokens);
      workers
          .send(target.descriptor().endpoint(), "/internal/v1/reserve", reserve.toString())
          .onComplete(
              ar -> {
                JsonNode ticket = ar.succeeded() ? read(ar.result()) : null;
                if (ticket == null || !ticket.has("region")) {
                  end("target_refused", "the target has no room for its KV", false);
                  return;
                }
                copy(ticket);
              });
    }

    private void copy(JsonNode ticket) {
      if (s.stream.done()) {
        end("client_gone", "the client went away", true);
        return;
      }
      ObjectNode m = JSON.createObjectNode().put("id", s.id);
      m.set("ticket", ticket);
      m.put("max_stages", options.maxStages());
      m.put("delta_tokens", options.deltaTokens());
      workers
          .send(source.descriptor().endpoint(), "/internal/v1/migrate", m.toString())
          .onComplete(
              ar -> {
                if (ar.failed()) {
                  end("source_failed", "the source failed: " + ar.cause(), true);
                  return;
                }
                JsonNode answer = read(ar.result());
                if (ar.result().status() != 200 || answer == null) {
                  String outcome =
                      answer == null
                          ? "source_failed"
                          : answer.path("error").path("outcome").asText("source_failed");
                  end(outcome, answer == null ? "unreadable answer" : message(answer), true);
                  return;
                }
                stages = answer.path("stages").asInt();
                bytes = answer.path("bytes").asLong();
                resume(answer, System.nanoTime() - answer.path("frozen_ns").asLong());
              });
    }

    private void resume(JsonNode prepared, long frozenAt) {
      if (s.stream.done()) {
        settle(false);
        end("client_gone", "the client went away", true);
        return;
      }
      ObjectNode r = JSON.createObjectNode();
      r.set("snapshot", prepared.get("snapshot"));
      workers
          .post(target.descriptor().endpoint(), "/internal/v1/resume", r.toString())
          .onComplete(
              ar -> {
                if (ar.failed() || ar.result().statusCode() != 200) {
                  if (ar.succeeded()) {
                    ar.result().body();
                  }
                  settle(false);
                  end(
                      "target_failed",
                      "the target did not resume it: "
                          + (ar.failed() ? ar.cause() : "status " + ar.result().statusCode()),
                      true);
                  return;
                }
                if (s.stream.done()) {
                  ar.result().request().reset();
                  settle(false);
                  end("client_gone", "the client went away", true);
                  return;
                }
                if (s.recoveries != recoveries) {
                  // The source died meanwhile and the request was recovered elsewhere.
                  ar.result().request().reset();
                  end("source_failed", "the source failed; the request was recovered", true);
                  return;
                }
                s.stream.onEvent(
                    () -> {
                      if (target.id().equals(s.instance())) {
                        s.stream.onEvent(null);
                        finish(System.nanoTime() - frozenAt);
                      }
                    });
                s.stream.attach(ar.result(), target.id());
                settle(true);
              });
    }

    /** Commit (free on the source) or abort (decode on there). */
    private void settle(boolean commit) {
      String path = commit ? "/internal/v1/migrate/commit" : "/internal/v1/migrate/abort";
      workers
          .send(
              source.descriptor().endpoint(),
              path,
              JSON.createObjectNode().put("id", s.id).toString())
          .onComplete(
              ar -> {
                if (ar.failed() || ar.result().status() != 204) {
                  LOG.warn(
                      "migration of {}: {} on {} failed: {}",
                      s.id,
                      commit ? "commit" : "abort",
                      source.id(),
                      ar.failed() ? ar.cause().toString() : ar.result().status());
                }
              });
    }

    private void finish(long downtimeNanos) {
      Result r =
          new Result(
              s.id,
              "migrated",
              source.id(),
              target.id(),
              downtimeNanos,
              stages,
              bytes,
              "moved after " + s.generated() + " tokens");
      LOG.info(
          "migrated {} from {} to {}: {} stages, {} bytes, downtime {} ms",
          s.id,
          source.id(),
          target.id(),
          stages,
          bytes,
          String.format("%.2f", downtimeNanos / 1e6));
      done(r);
      result.tryComplete(r);
    }

    /** Ends a migration that did not happen; {@code cancelTarget} gives its reservation back. */
    private void end(String outcome, String detail, boolean cancelTarget) {
      if (cancelTarget) {
        workers
            .send(
                target.descriptor().endpoint(),
                "/internal/v1/cancel",
                JSON.createObjectNode().put("id", s.id).toString())
            .onFailure(e -> LOG.debug("cancel on {} failed: {}", target.id(), e.toString()));
      }
      Result r = new Result(s.id, outcome, source.id(), target.id(), 0, stages, bytes, detail);
      done(r);
      result.tryComplete(r);
    }
  }

  private static JsonNode read(WorkerClient.Reply reply) {
    try {
      return JSON.readTree(reply.body().getBytes());
    } catch (java.io.IOException e) {
      return null;
    }
  }

  private static String message(JsonNode answer) {
    return answer.path("error").path("message").asText(answer.toString());
  }
}
