package dev.duet.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.exec.GenerationSnapshot;
import dev.duet.engine.exec.SnapshotJson;
import dev.duet.engine.exec.TokenEvent;
import dev.duet.engine.model.Model;
import dev.duet.engine.sampling.SamplingParams;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's HTTP control API on Vert.x (role {@code both} for now: prefill and decode in one
 * process).
 *
 * <ul>
 *   <li>{@code POST /internal/v1/generate}: {@code {"id", "prompt_ids" | "prompt", "params":
 *       {temperature, top_k, top_p, seed, max_tokens, stop, ignore_eos}, "ttft_budget_ms"}};
 *       answers a stream of newline-delimited JSON events, one per token ({@code {"token",
 *       "text"}}) and a last one with {@code finished}, {@code finish_reason} and the token counts.
 *       A full queue, or a backlog that would make the first token miss {@code ttft_budget_ms}, is
 *       a 429, a bad body a 400, both as {@code {"error": {...}}}. Closing the connection cancels
 *       the request and frees its KV blocks.
 *   <li>{@code GET /internal/v1/load}: the step loop's {@link StepLoop.Load}.
 *   <li>{@code GET /metrics}: Prometheus text ({@link WorkerMetrics}).
 *   <li>{@code GET /health/live}, {@code GET /health/ready}.
 * </ul>
 *
 * <p>Threading: handlers run on the server's event loop; token events arrive on the step loop's
 * thread and are posted to the request's context, so responses are only touched on the event loop.
 */
public final class WorkerServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(WorkerServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The largest request body accepted. */
  public static final int MAX_BODY_BYTES = 4 << 20;

  private final Vertx vertx;
  private final Model model;
  private final StepLoop loop;
  private final WorkerMetrics metrics;
  private final KvHandoff kv;
  private final MigrationSource migrations;
  // The open event stream of each request here, by id (a migration's commit ends it).
  private final java.util.Map<String, EventStream> streams =
      new java.util.concurrent.ConcurrentHashMap<>();
  private HttpServer server;

  /** How long a request may stay frozen for a migration the controller never settles. */
  static final long FROZEN_LIMIT_MS = 30_000;

  public WorkerServer(Vertx vertx, Model model, StepLoop loop, WorkerMetrics metrics) {
    this(vertx, model, loop, metrics, null);
  }

  /**
   * @param kv the KV handoff of a prefill or decode instance, or null (role both)
   */
  public WorkerServer(
      Vertx vertx, Model model, StepLoop loop, WorkerMetrics metrics, KvHandoff kv) {
    this.vertx = vertx;
    this.model = model;
    this.loop = loop;
    this.metrics = metrics;
    this.kv = kv;
    this.migrations = kv == null ? null : new MigrationSource(loop, kv);
  }

  /** Starts listening on 127.0.0.1 (or {@code host}); {@code port} 0 picks a free port. */
  public Future<Integer> listen(String host, int port) {
    return vertx
        // HTTP/1.1 only, like other OpenAI-compatible servers: no h2c upgrade, whose stream
        // resets surfaced to clients as errors when an upstream failed mid-stream.
        .createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false))
        .requestHandler(this::handle)
        .listen(port, host)
        .map(
            s -> {
              server = s;
              return s.actualPort();
            });
  }

  private void handle(HttpServerRequest req) {
    String path = req.path();
    switch (path) {
      case "/health/live", "/health/ready" ->
          req.response().putHeader("content-type", "application/json").end("{\"status\":\"ok\"}");
      case "/metrics" ->
          req.response()
              .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
              .end(metrics.scrape());
      case "/internal/v1/load" -> {
        StepLoop.Load l = loop.load();
        ObjectNode o = JSON.createObjectNode();
        o.put("queued", l.queued());
        o.put("running", l.running());
        o.put("free_kv_blocks", l.freeKvBlocks());
        o.put("steps", l.steps());
        o.put("pending_prompt_tokens", l.pendingPromptTokens());
        o.put("prefill_tokens_per_s", l.prefillTokensPerS());
        o.put("decode_tokens_per_s", l.decodeTokensPerS());
        req.response().putHeader("content-type", "application/json").end(o.toString());
      }
      case "/internal/v1/generate" -> withBody(req, this::generate);
      case "/internal/v1/reserve" -> withBody(req, this::reserve);
      case "/internal/v1/resume" -> withBody(req, this::resume);
      case "/internal/v1/prefill" -> withBody(req, this::prefill);
      case "/internal/v1/recover" -> withBody(req, this::recover);
      case "/internal/v1/migrate" -> withBody(req, this::migrate);
      case "/internal/v1/migrate/commit" -> withBody(req, (r, b) -> settle(r, b, true));
      case "/internal/v1/migrate/abort" -> withBody(req, (r, b) -> settle(r, b, false));
      case "/internal/v1/cancel" ->
          withBody(
              req,
              (r, b) -> {
                try {
                  loop.cancel(JSON.readTree(b.getBytes()).path("id").asText());
                  r.response().setStatusCode(204).end();
                } catch (java.io.IOException e) {
                  error(r.response(), 400, e.getMessage());
                }
              });
      default -> error(req.response(), 404, "no such endpoint: " + path);
    }
  }

  private void withBody(
      HttpServerRequest req, java.util.function.BiConsumer<HttpServerRequest, Buffer> then) {
    if (!req.method().name().equals("POST")) {
      error(req.response(), 405, "use POST");
      return;
    }
    String length = req.getHeader("content-length");
    if (length != null && Long.parseLong(length) > MAX_BODY_BYTES) {
      error(req.response(), 413, "the body is over " + MAX_BODY_BYTES + " bytes");
      return;
    }
    req.body()
        .onSuccess(body -> then.accept(req, body))
        .onFailure(e -> error(req.response(), 400, "cannot read the body: " + e.getMessage()));
  }

  /** Decode side of a handoff: reserve blocks, answer the ticket (or 429). */
  private void reserve(HttpServerRequest req, Buffer body) {
    if (kv == null) {
      error(req.response(), 409, "this worker does not take KV transfers");
      return;
    }
    JsonNode j;
    try {
      j = JSON.readTree(body.getBytes());
    } catch (java.io.IOException e) {
      error(req.response(), 400, e.getMessage());
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    loop.reserve(j.path("id").asText(), j.path("tokens").asInt())
        .whenComplete(
            (seq, failure) ->
                ctx.runOnContext(
                    v -> {
                      if (failure != null) {
                        error(req.response(), 400, failure.getMessage());
                      } else if (seq == null) {
                        metrics.refused("no_kv_room");
                        error(req.response(), 429, "no room for the request's KV here");
                      } else {
                        req.response()
                            .putHeader("content-type", "application/json")
                            .end(kv.ticket(seq).toString());
                      }
                    }));
  }

  /** Decode side of a handoff: continue from the snapshot and stream the rest. */
  private void resume(HttpServerRequest req, Buffer body) {
    GenerationSnapshot snap;
    try {
      snap = SnapshotJson.read(JSON.readTree(body.getBytes()).path("snapshot"));
    } catch (IllegalArgumentException | java.io.IOException e) {
      error(req.response(), 400, e.getMessage());
      return;
    }
    HttpServerResponse resp = req.response();
    Context ctx = vertx.getOrCreateContext();
    AtomicBoolean done = new AtomicBoolean();
    resp.setChunked(true).putHeader("content-type", "application/x-ndjson");
    resp.closeHandler(
        v -> {
          if (!done.get()) {
            loop.cancel(snap.id());
          }
        });
    loop.resume(snap, streamTo(resp, ctx, done, snap.prompt().length, snap.id()))
        .whenComplete(
            (ok, failure) -> {
              if (failure != null) {
                ctx.runOnContext(
                    v -> {
                      done.set(true);
                      error(resp, 400, failure.getMessage());
                    });
              }
            });
  }

  /**
   * Prefill side of a handoff: prefill, write the KV into the ticket's blocks, answer the first
   * token's event with the snapshot (none when the first token ended the request).
   */
  private void prefill(HttpServerRequest req, Buffer body) {
    if (kv == null) {
      error(req.response(), 409, "this worker does not take KV transfers");
      return;
    }
    Request r;
    JsonNode ticket;
    try {
      JsonNode root = JSON.readTree(body.getBytes());
      r = Request.parse(root, model);
      ticket = root.path("ticket");
    } catch (IllegalArgumentException | java.io.IOException e) {
      error(req.response(), 400, e.getMessage());
      return;
    }
    HttpServerResponse resp = req.response();
    Context ctx = vertx.getOrCreateContext();
    ObjectNode[] snapshot = {null};
    loop.submit(
            r.id(),
            r.prompt(),
            r.params(),
            r.ttftBudgetNanos(),
            kv.handoff(ticket, g -> snapshot[0] = SnapshotJson.write(g.snapshot())),
            ev -> {
              ObjectNode out = JSON.createObjectNode();
              out.set("event", event(ev, r.prompt().length));
              if (snapshot[0] != null) {
                out.set("snapshot", snapshot[0]);
              }
              ctx.runOnContext(
                  v -> resp.putHeader("content-type", "application/json").end(out.toString()));
            })
        .whenComplete(
            (accepted, failure) ->
                ctx.runOnContext(
                    v -> {
                      if (failure != null) {
                        error(resp, 400, failure.getMessage());
                      } else if (accepted != Admission.ACCEPTED) {
                        metrics.refused(
                            accepted == Admission.QUEUE_FULL ? "queue_full" : "ttft_budget");
                        error(resp, 429, "refused: " + accepted);
                      }
                    }));
  }

  private EventStream streamTo(
      HttpServerResponse resp, Context ctx, AtomicBoolean done, int promptTokens, String id) {
    EventStream s = new EventStream(resp, ctx, done, promptTokens, id);
    streams.put(id, s);
    return s;
  }

  /**
   * A request's token events as NDJSON lines on its response. Events arrive on the step thread and
   * are written on the response's event loop.
   */
  private final class EventStream implements java.util.function.Consumer<TokenEvent> {
    private final HttpServerResponse resp;
    private final Context ctx;
    private final AtomicBoolean done;
    private final int promptTokens;
    private final String id;

    EventStream(
        HttpServerResponse resp, Context ctx, AtomicBoolean done, int promptTokens, String id) {
      this.id = id;
      this.resp = resp;
      this.ctx = ctx;
      this.done = done;
      this.promptTokens = promptTokens;
    }

    @Override
    public void accept(TokenEvent ev) {
      String line = event(ev, promptTokens).toString() + "\n";
      boolean last = ev.finished();
      ctx.runOnContext(
          v -> {
            if (last) {
              done.set(true);
              streams.remove(id, this);
              metrics.finished(ev.generation().stopReason().openAiFinishReason());
              resp.end(line);
            } else {
              resp.write(line);
              backpressure(resp, ev.generation().id());
            }
          });
    }

    /** The request now runs on another instance: end this stream with a marker line. */
    void migrated() {
      streams.remove(id, this);
      ctx.runOnContext(
          v -> {
            done.set(true);
            resp.end("{\"migrated\":true}\n");
          });
    }
  }

  /** Continue a request whose instance failed: recompute its KV here and stream the rest. */
  private void recover(HttpServerRequest req, Buffer body) {
    GenerationSnapshot snap;
    try {
      snap = SnapshotJson.read(JSON.readTree(body.getBytes()).path("snapshot"));
    } catch (IllegalArgumentException | java.io.IOException e) {
      error(req.response(), 400, e.getMessage());
      return;
    }
    HttpServerResponse resp = req.response();
    Context ctx = vertx.getOrCreateContext();
    AtomicBoolean done = new AtomicBoolean();
    resp.closeHandler(
        v -> {
          if (!done.get()) {
            loop.cancel(snap.id());
          }
        });
    loop.recover(snap, streamTo(resp, ctx, done, snap.prompt().length, snap.id()))
        .whenComplete(
            (accepted, failure) ->
                ctx.runOnContext(
                    v -> {
                      if (failure != null) {
                        done.set(true);
                        error(resp, 400, failure.getMessage());
                      } else if (accepted != Admission.ACCEPTED) {
                        done.set(true);
                        metrics.refused("queue_full");
                        error(resp, 429, "the worker's queue is full");
                      } else if (!resp.headWritten()) {
                        LOG.info(
                            "request {}: recovering after {} tokens",
                            snap.id(),
                            snap.generated().length);
                        resp.setChunked(true).putHeader("content-type", "application/x-ndjson");
                        resp.writeHead();
                      }
                    }));
  }

  /**
   * Source side of a live migration: copy the request's KV into the ticket's blocks in stages,
   * freeze it, and answer its snapshot; the controller then commits or aborts.
   */
  private void migrate(HttpServerRequest req, Buffer body) {
    if (kv == null) {
      error(req.response(), 409, "this worker does not take part in KV transfers");
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
      error(req.response(), 400, e.getMessage());
      return;
    }
    String id = j.path("id").asText();
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
                                        EventStream st = streams.get(id);
                                        if (l != null && st != null) {
                                          LOG.warn(
                                              "request {}: frozen for a migration that was never"
                                                  + " settled; ending it here",
                                              id);
                                          st.migrated();
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
                ctx.runOnContext(v -> error(req.response(), 500, e.toString()));
              }
            });
  }

  /** Ends a prepared migration: commit (the target runs it; free it here) or abort (go on here). */
  private void settle(HttpServerRequest req, Buffer body, boolean commit) {
    String id;
    try {
      id = JSON.readTree(body.getBytes()).path("id").asText();
    } catch (java.io.IOException e) {
      error(req.response(), 400, e.getMessage());
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    loop.call(
            s -> {
              if (!commit) {
                return s.unfreeze(id);
              }
              java.util.function.Consumer<TokenEvent> l = s.migratedAway(id);
              EventStream stream = streams.get(id);
              if (l != null && stream != null) {
                stream.migrated();
              }
              return l != null;
            })
        .whenComplete(
            (found, failure) ->
                ctx.runOnContext(
                    v -> {
                      if (failure != null) {
                        error(req.response(), 500, failure.toString());
                      } else if (!found) {
                        error(req.response(), 404, id + " is not frozen for a migration here");
                      } else {
                        metrics.migration(commit ? "committed" : "aborted");
                        req.response().setStatusCode(204).end();
                      }
                    }));
  }

  private void generate(HttpServerRequest req, Buffer body) {
    HttpServerResponse resp = req.response();
    Request r;
    try {
      r = Request.parse(JSON.readTree(body.getBytes()), model);
    } catch (IllegalArgumentException | java.io.IOException e) {
      error(resp, 400, e.getMessage());
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    AtomicBoolean done = new AtomicBoolean();
    resp.setChunked(true).putHeader("content-type", "application/x-ndjson");
    resp.closeHandler(
        v -> {
          if (!done.get()) {
            LOG.info("request {}: client went away; cancelling", r.id());
            loop.cancel(r.id());
          }
        });
    loop.submit(
            r.id(),
            r.prompt(),
            r.params(),
            r.ttftBudgetNanos(),
            streamTo(resp, ctx, done, r.prompt().length, r.id()))
        .whenComplete(
            (accepted, failure) ->
                ctx.runOnContext(
                    v -> {
                      if (failure != null) {
                        done.set(true);
                        metrics.refused("bad_request");
                        error(resp, 400, failure.getMessage());
                      } else if (accepted == Admission.QUEUE_FULL) {
                        done.set(true);
                        metrics.refused("queue_full");
                        error(resp, 429, "the worker's queue is full");
                      } else if (accepted == Admission.TTFT_BUDGET) {
                        done.set(true);
                        metrics.refused("ttft_budget");
                        error(resp, 429, "the first token would miss the TTFT budget here");
                      }
                    }));
  }

  /**
   * A reader slower than generation: pause the request's decoding until the response drains (its
   * blocks stay; its tokens do not change).
   */
  private void backpressure(HttpServerResponse resp, String id) {
    if (resp.writeQueueFull()) {
      loop.setPaused(id, true);
      resp.drainHandler(v -> loop.setPaused(id, false));
    }
  }

  /**
   * One event line. {@code seq} orders a request's events across instances (a migration or a
   * recovery switches the controller's upstream at a token boundary): token {@code n} has seq
   * {@code n}, and an end without a token (EOS) comes right after the last token.
   */
  private static ObjectNode event(TokenEvent ev, int promptTokens) {
    ObjectNode o = JSON.createObjectNode();
    int count = ev.generation().generatedCount();
    o.put("seq", ev.token() >= 0 ? count : count + 1);
    if (ev.token() >= 0) {
      o.put("token", ev.token());
    }
    o.put("text", ev.text());
    if (ev.finished()) {
      o.put("finished", true);
      o.put("finish_reason", ev.generation().stopReason().openAiFinishReason());
      o.put("prompt_tokens", promptTokens);
      o.put("completion_tokens", ev.generation().generatedCount());
    }
    return o;
  }

  private static void error(HttpServerResponse resp, int status, String message) {
    if (resp.headWritten()) {
      resp.end();
      return;
    }
    ObjectNode o = JSON.createObjectNode();
    o.putObject("error").put("message", message).put("code", status);
    resp.setStatusCode(status).putHeader("content-type", "application/json").end(o.toString());
  }

  /** A parsed generate request. */
  record Request(String id, int[] prompt, SamplingParams params, long ttftBudgetNanos) {

    static Request parse(JsonNode root, Model model) {
      if (root == null || !root.isObject()) {
        throw new IllegalArgumentException("the body must be a JSON object");
      }
      String id = root.path("id").asText("");
      if (id.isBlank()) {
        throw new IllegalArgumentException("id is required");
      }
      int[] prompt;
      if (root.has("prompt_ids")) {
        JsonNode ids = root.get("prompt_ids");
        prompt = new int[ids.size()];
        for (int i = 0; i < prompt.length; i++) {
          int t = ids.get(i).asInt(-1);
          if (!ids.get(i).isInt() || t < 0 || t >= model.config().vocabSize()) {
            throw new IllegalArgumentException("prompt_ids[" + i + "] is not a token id");
          }
          prompt[i] = t;
        }
      } else if (root.path("prompt").isTextual()) {
        prompt = model.tokenizer().encode(root.get("prompt").asText());
      } else {
        throw new IllegalArgumentException("prompt_ids (token ids) or prompt (text) is required");
      }
      if (prompt.length == 0) {
        throw new IllegalArgumentException("the prompt is empty");
      }
      JsonNode p = root.path("params");
      List<String> stop = new ArrayList<>();
      p.path("stop").forEach(s -> stop.add(s.asText()));
      SamplingParams params =
          new SamplingParams(
              (float) p.path("temperature").asDouble(0),
              p.path("top_k").asInt(0),
              (float) p.path("top_p").asDouble(1),
              p.path("seed").asLong(0),
              p.path("max_tokens").asInt(16),
              stop,
              p.path("ignore_eos").asBoolean(false));
      long budget = (long) (root.path("ttft_budget_ms").asDouble(0) * 1e6);
      return new Request(id, prompt, params, budget);
    }
  }

  @Override
  public void close() {
    if (server != null) {
      server.close().await();
    }
  }
}
