package dev.duet.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.exec.SnapshotJson;
import dev.duet.engine.exec.TokenEvent;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's side of live migration as the source: {@code POST /internal/v1/migrate} copies a
 * request's KV into a target's reserved blocks in stages and freezes it ({@link MigrationSource}),
 * answering its snapshot; {@code /internal/v1/migrate/commit} frees it here and ends its stream,
 * {@code /internal/v1/migrate/abort} lets it decode on here.
 *
 * <p>Threading: handlers run on the worker's event loop; the staged copy runs on a virtual thread.
 */
final class MigrationEndpoints {

  private static final Logger LOG = LoggerFactory.getLogger(MigrationEndpoints.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How long a request may stay frozen for a migration the controller never settles. */
  static final long FROZEN_LIMIT_MS = 30_000;

  private final Vertx vertx;
  private final StepLoop loop;
  private final WorkerMetrics metrics;
  private final EventStreams streams;
  private final MigrationSource migrations;
  private final Predicate<HttpServerResponse> decodeAdmitted;

  /**
   * @param kv the worker's KV handoff, or null (a colocated worker: migrations refused)
   * @param decodeAdmitted whether the worker's role takes decode work now (answers the refusal
   *     itself when not)
   */
  MigrationEndpoints(
      Vertx vertx,
      StepLoop loop,
      WorkerMetrics metrics,
      EventStreams streams,
      KvHandoff kv,
      Predicate<HttpServerResponse> decodeAdmitted) {
    this.vertx = vertx;
    this.loop = loop;
    this.metrics = metrics;
    this.streams = streams;
    this.migrations = kv == null ? null : new MigrationSource(loop, kv);
    this.decodeAdmitted = decodeAdmitted;
  }

  /**
   * Source side of a live migration: copy the request's KV into the ticket's blocks in stages,
   * freeze it, and answer its snapshot; the controller then commits or aborts.
   */
  void migrate(HttpServerRequest req, Buffer body) {
    if (migrations == null) {
      WorkerServer.error(req.response(), 409, "this worker does not take part in KV transfers");
      return;
    }
    JsonNode j;
    MigrationSource.Options options;
    try {
      j = JSON.readTree(body.getBytes());
      options =
          new MigrationSource.Options(
              j.path("max_stages").asInt(8), j.path("delta_tokens").asInt(16));
    } catch (IllegalArgumentException | java.io.IOException e) {
      WorkerServer.error(req.response(), 400, e.getMessage());
      return;
    }
    String id = j.path("id").asText();
    if (!decodeAdmitted.test(req.response())) {
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    Thread.ofVirtual()
        .name("duet-migrate-" + id)
        .start(
            () -> {
              try {
                MigrationSource.Prepared p = migrations.migrate(id, j.path("ticket"), options);
                ObjectNode out = JSON.createObjectNode();
                out.set("snapshot", SnapshotJson.write(p.snapshot()));
                out.put("stages", p.stages());
                out.put("bytes", p.bytes());
                out.put("frozen_ns", System.nanoTime() - p.frozenAtNanos());
                ctx.runOnContext(
                    v -> {
                      // A controller that never settles must not pin the blocks for good.
                      vertx.setTimer(
                          FROZEN_LIMIT_MS,
                          t ->
                              loop.call(s -> s.migratedAway(id))
                                  .thenAccept(
                                      l -> {
                                        if (l != null && streams.migrated(id)) {
                                          LOG.warn(
                                              "request {}: frozen for a migration that was never"
                                                  + " settled; ending it here",
                                              id);
                                        }
                                      }));
                      req.response()
                          .putHeader("content-type", "application/json")
                          .end(out.toString());
                    });
              } catch (MigrationSource.Aborted e) {
                LOG.info("migration of {} aborted ({}): {}", id, e.outcome, e.getMessage());
                metrics.migration(e.outcome);
                ObjectNode o = JSON.createObjectNode();
                o.putObject("error")
                    .put("message", e.getMessage())
                    .put("code", 409)
                    .put("outcome", e.outcome);
                ctx.runOnContext(
                    v ->
                        req.response()
                            .setStatusCode(409)
                            .putHeader("content-type", "application/json")
                            .end(o.toString()));
              } catch (RuntimeException e) {
                LOG.error("migration of {} failed", id, e);
                ctx.runOnContext(v -> WorkerServer.error(req.response(), 500, e.toString()));
              }
            });
  }

  /** Ends a prepared migration: commit (the target runs it; free it here) or abort (go on here). */
  void settle(HttpServerRequest req, Buffer body, boolean commit) {
    String id;
    try {
      id = JSON.readTree(body.getBytes()).path("id").asText();
    } catch (java.io.IOException e) {
      WorkerServer.error(req.response(), 400, e.getMessage());
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    loop.call(
            s -> {
              if (!commit) {
                return s.unfreeze(id);
              }
              java.util.function.Consumer<TokenEvent> l = s.migratedAway(id);
              if (l != null) {
                streams.migrated(id);
              }
              return l != null;
            })
        .whenComplete(
            (found, failure) ->
                ctx.runOnContext(
                    v -> {
                      if (failure != null) {
                        WorkerServer.error(req.response(), 500, failure.toString());
                      } else if (!found) {
                        WorkerServer.error(
                            req.response(), 404, id + " is not frozen for a migration here");
                      } else {
                        metrics.migration(commit ? "committed" : "aborted");
                        req.response().setStatusCode(204).end();
                      }
                    }));
  }
}
