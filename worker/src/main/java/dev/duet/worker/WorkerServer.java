package dev.duet.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.exec.GenerationSnapshot;
import dev.duet.engine.exec.SnapshotJson;
import dev.duet.engine.exec.TokenEvent;
import dev.duet.engine.model.Model;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's HTTP control API on Vert.x. Its {@link WorkerRole} decides which work it accepts: a
 * prefill worker refuses {@code reserve}, {@code resume}, {@code recover} and {@code migrate} with
 * a 409 naming its role, a decode worker refuses {@code prefill}; {@code POST /internal/v1/role}
 * flips a prefill or decode worker to the other role in place.
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
  private final MigrationEndpoints migration;
  private final EventStreams streams;
  private final WorkerRole role;
  private HttpServer server;

  /** A colocated worker (role {@code both}). */
  public WorkerServer(Vertx vertx, Model model, StepLoop loop, WorkerMetrics metrics) {
    this(vertx, model, loop, metrics, null, new WorkerRole("both"));
  }

  /** The worker {@code we} built: its engine's handoff and role. */
  public WorkerServer(
      Vertx vertx, Model model, StepLoop loop, WorkerMetrics metrics, WorkerEngine we) {
    this(vertx, model, loop, metrics, we.kv(), we.role());
  }

  /**
   * @param kv the KV handoff of a prefill or decode instance, or null (role both)
   * @param role the worker's role
   */
  public WorkerServer(
      Vertx vertx,
      Model model,
      StepLoop loop,
      WorkerMetrics metrics,
      KvHandoff kv,
      WorkerRole role) {
    this.vertx = vertx;
    this.role = role;
    this.model = model;
    this.loop = loop;
    this.metrics = metrics;
    this.kv = kv;
    this.streams = new EventStreams(loop, metrics);
    this.migration =
        new MigrationEndpoints(
            vertx,
            loop,
            metrics,
            streams,
            kv,
            resp -> admitted(resp, WorkerRole.Work.DECODE, () -> Boolean.TRUE) != null);
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
        o.put("decode_step_fixed_ms", l.decodeStepFixedMs());
        o.put("decode_step_per_row_ms", l.decodeStepPerRowMs());
        o.put("prefill_step_fixed_ms", l.prefillStepFixedMs());
        o.put("prefill_step_per_token_ms", l.prefillStepPerTokenMs());
        o.put("reserved", l.reserved());
        WorkerRole.State r = role.state();
        o.put("role", r.role());
        o.put("role_epoch", r.epoch());
        req.response().putHeader("content-type", "application/json").end(o.toString());
      }
      case "/internal/v1/generate" -> withBody(req, this::generate);
      case "/internal/v1/role" -> withBody(req, this::flip);
      // The role is checked first here (the answer names it), and again as the work is queued.
      case "/internal/v1/reserve" -> ifTaken(req, WorkerRole.Work.DECODE, this::reserve);
      case "/internal/v1/resume" -> ifTaken(req, WorkerRole.Work.DECODE, this::resume);
      case "/internal/v1/prefill" -> ifTaken(req, WorkerRole.Work.PREFILL, this::prefill);
      case "/internal/v1/recover" -> ifTaken(req, WorkerRole.Work.DECODE, this::recover);
      case "/internal/v1/migrate" -> ifTaken(req, WorkerRole.Work.DECODE, migration::migrate);
      case "/internal/v1/migrate/commit" -> withBody(req, (r, b) -> migration.settle(r, b, true));
      case "/internal/v1/migrate/abort" -> withBody(req, (r, b) -> migration.settle(r, b, false));
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
    var reserved =
        admitted(
            req.response(),
            WorkerRole.Work.DECODE,
            () -> loop.reserve(j.path("id").asText(), j.path("tokens").asInt()));
    if (reserved == null) {
      return;
    }
    reserved.whenComplete(
        (seq, failure) ->
            ctx.runOnContext(
                v -> {
                  if (failure != null) {
                    error(req.response(), 400, failure.getMessage());
                  } else if (seq == null) {
                    // with the free blocks as of the last pass: the controller's figure, from the
                    // last heartbeat, was stale, and this one lets it route the next ones right
                    metrics.refused("no_kv_room");
                    ObjectNode o = JSON.createObjectNode();
                    o.putObject("error")
                        .put("message", "no room for the request's KV here")
                        .put("code", 429);
                    o.put("free_kv_blocks", loop.load().freeKvBlocks());
                    req.response()
                        .setStatusCode(429)
                        .putHeader("content-type", "application/json")
                        .end(o.toString());
                  } else {
                    req.response()
                        .putHeader("content-type", "application/json")
                        .end(kv.ticket(seq).toString());
                  }
                }));
  }

  /** Decode side of a handoff: continue from the snapshot and stream the rest. */
  private void resume(HttpServerRequest req, Buffer body) {
    fromSnapshot(
        req,
        body,
        (snap, stream) -> loop.resume(snap, stream).thenApply(v -> Admission.ACCEPTED),
        "resuming");
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
    WorkerRequest r;
    JsonNode ticket;
    try {
      JsonNode root = JSON.readTree(body.getBytes());
      r = WorkerRequest.parse(root, model);
      ticket = root.path("ticket");
    } catch (IllegalArgumentException | java.io.IOException e) {
      error(req.response(), 400, e.getMessage());
      return;
    }
    HttpServerResponse resp = req.response();
    Context ctx = vertx.getOrCreateContext();
    ObjectNode[] snapshot = {null};
    var submitted =
        admitted(
            resp,
            WorkerRole.Work.PREFILL,
            () ->
                loop.submit(
                    r.id(),
                    r.prompt(),
                    r.params(),
                    r.ttftBudgetNanos(),
                    kv.handoff(ticket, g -> snapshot[0] = SnapshotJson.write(g.snapshot())),
                    ev -> {
                      ObjectNode out = JSON.createObjectNode();
                      out.set("event", EventStreams.event(ev, r.prompt().length));
                      if (snapshot[0] != null) {
                        out.set("snapshot", snapshot[0]);
                      }
                      ctx.runOnContext(
                          v ->
                              resp.putHeader("content-type", "application/json")
                                  .end(out.toString()));
                    }));
    if (submitted == null) {
      return;
    }
    submitted.whenComplete(
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

  /** Continue a request whose instance failed: recompute its KV here and stream the rest. */
  private void recover(HttpServerRequest req, Buffer body) {
    fromSnapshot(req, body, loop::recover, "recovering");
  }

  /**
   * Continues a request from the snapshot in {@code body} through {@code start} (resume: its KV is
   * here already; recover: recompute it) and streams its events; the stream's head goes out once
   * the step loop has accepted it (or with its first event), so a full queue is still a 429.
   * Closing the connection cancels it.
   */
  private void fromSnapshot(
      HttpServerRequest req,
      Buffer body,
      java.util.function.BiFunction<
              GenerationSnapshot,
              java.util.function.Consumer<TokenEvent>,
              java.util.concurrent.CompletableFuture<Admission>>
          start,
      String what) {
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
    // Chunked before anything can be written: the first event may reach the event loop before
    // the acceptance does (a refusal still answers with its status: nothing was written then).
    resp.setChunked(true).putHeader("content-type", "application/x-ndjson");
    resp.closeHandler(
        v -> {
          if (!done.get()) {
            streams.forget(snap.id());
            loop.cancel(snap.id());
          }
        });
    var started =
        admitted(
            resp,
            WorkerRole.Work.DECODE,
            () ->
                start.apply(snap, streams.open(resp, ctx, done, snap.prompt().length, snap.id())));
    if (started == null) {
      done.set(true);
      return;
    }
    started.whenComplete(
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
                    LOG.debug(
                        "request {}: {} after {} tokens", snap.id(), what, snap.generated().length);
                    resp.writeHead(); // the controller attaches at the head
                  }
                }));
  }

  private void ifTaken(
      HttpServerRequest req,
      WorkerRole.Work work,
      java.util.function.BiConsumer<HttpServerRequest, Buffer> then) {
    if (admitted(req.response(), work, () -> Boolean.TRUE) != null) {
      withBody(req, then);
    }
  }

  /**
   * Hands work to the step loop if this worker's role takes it; otherwise answers 409 naming the
   * role and returns null.
   */
  private <T> T admitted(
      HttpServerResponse resp, WorkerRole.Work work, java.util.function.Supplier<T> enqueue) {
    try {
      return role.admit(work, enqueue);
    } catch (WorkerRole.Refused e) {
      metrics.refused("role");
      error(resp, 409, e.getMessage());
      return null;
    }
  }

  /**
   * {@code POST /internal/v1/role {"role": "prefill"|"decode"}}: flips the role in place when the
   * worker holds no request; 200 {@code {"role", "previous", "role_epoch", "changed"}}, 400 for a
   * bad role, 409 (with the counts held) when it is colocated, flipping already, or not drained.
   */
  private void flip(HttpServerRequest req, Buffer body) {
    java.util.concurrent.CompletableFuture<WorkerRole.Flip> flipping;
    try {
      String to = JSON.readTree(body.getBytes()).path("role").asText(null);
      flipping = role.flip(to, loop::held);
    } catch (IllegalArgumentException | java.io.IOException e) {
      error(req.response(), 400, e.getMessage());
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    flipping.thenAccept(
        f ->
            ctx.runOnContext(
                v -> {
                  ObjectNode o = JSON.createObjectNode();
                  if (f.refusal() != null) {
                    ObjectNode e =
                        o.putObject("error").put("message", f.refusal()).put("code", 409);
                    e.put("role", f.role());
                    if (f.held() != null) {
                      e.put("queued", f.held().queued());
                      e.put("running", f.held().running());
                      e.put("reserved", f.held().reserved());
                    }
                    req.response()
                        .setStatusCode(409)
                        .putHeader("content-type", "application/json")
                        .end(o.toString());
                    return;
                  }
                  if (f.changed()) {
                    LOG.info(
                        "role flipped from {} to {} (epoch {})", f.previous(), f.role(), f.epoch());
                  }
                  o.put("role", f.role());
                  o.put("previous", f.previous());
                  o.put("role_epoch", f.epoch());
                  o.put("changed", f.changed());
                  req.response().putHeader("content-type", "application/json").end(o.toString());
                }));
  }

  private void generate(HttpServerRequest req, Buffer body) {
    HttpServerResponse resp = req.response();
    WorkerRequest r;
    try {
      r = WorkerRequest.parse(JSON.readTree(body.getBytes()), model);
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
            streams.forget(r.id());
            LOG.info("request {}: client went away; cancelling", r.id());
            loop.cancel(r.id());
          }
        });
    loop.submit(
            r.id(),
            r.prompt(),
            r.params(),
            r.ttftBudgetNanos(),
            streams.open(resp, ctx, done, r.prompt().length, r.id()))
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

  /** An error answer {@code {"error": {message, code}}}, or the end of a started stream. */
  static void error(HttpServerResponse resp, int status, String message) {
    if (resp.headWritten()) {
      resp.end();
      return;
    }
    ObjectNode o = JSON.createObjectNode();
    o.putObject("error").put("message", message).put("code", status);
    resp.setStatusCode(status).putHeader("content-type", "application/json").end(o.toString());
  }

  @Override
  public void close() {
    if (server != null) {
      server.close().await();
    }
  }
}
