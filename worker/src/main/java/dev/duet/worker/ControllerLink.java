package dev.duet.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a worker known to its controller: registers, then heartbeats its load and its role (with
 * the role's epoch, which a flip bumps) every second, and registers again whenever the controller
 * does not know it (a 404: it restarted, or declared this worker dead). Every call has a 2-second
 * deadline.
 *
 * <p>Threading: runs on a Vert.x event loop timer.
 */
public final class ControllerLink implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ControllerLink.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Vertx vertx;
  private final HttpClient client;
  private final URI controller;
  private final ObjectNode descriptor;
  private final StepLoop loop;
  private final WorkerRole role;
  private final AtomicBoolean registered = new AtomicBoolean();
  private long timer = -1;

  /**
   * @param descriptor the registration body: id, role, endpoint, model, kv_blocks, block_size,
   *     max_batch
   */
  public ControllerLink(Vertx vertx, URI controller, ObjectNode descriptor, StepLoop loop) {
    this(vertx, controller, descriptor, loop, new WorkerRole(descriptor.path("role").asText()));
  }

  /**
   * @param descriptor the registration body (its role is replaced by {@code role}'s current one)
   * @param role the worker's role, reported in each heartbeat and registration
   */
  public ControllerLink(
      Vertx vertx, URI controller, ObjectNode descriptor, StepLoop loop, WorkerRole role) {
    this.role = role;
    this.vertx = vertx;
    this.client = vertx.createHttpClient();
    this.controller = controller;
    this.descriptor = descriptor;
    this.loop = loop;
  }

  public void start() {
    tick();
    timer = vertx.setPeriodic(1000, t -> tick());
  }

  private void tick() {
    if (!registered.get()) {
      ObjectNode d = descriptor.deepCopy();
      WorkerRole.State r = role.state();
      d.put("role", r.role());
      d.put("role_epoch", r.epoch());
      post("/internal/v1/instances", d.toString())
          .onSuccess(
              status -> {
                if (status == 201) {
                  registered.set(true);
                  LOG.info("registered with the controller at {}", controller);
                } else {
                  LOG.warn("the controller refused the registration: {}", status);
                }
              });
      return;
    }
    StepLoop.Load l = loop.load();
    ObjectNode body = JSON.createObjectNode();
    body.put("queued", l.queued());
    body.put("queued_prompt_tokens", l.pendingPromptTokens());
    body.put("prefill_tokens_per_s", l.prefillTokensPerS());
    body.put("decode_tokens_per_s", l.decodeTokensPerS());
    body.put("decode_step_fixed_ms", l.decodeStepFixedMs());
    body.put("decode_step_per_row_ms", l.decodeStepPerRowMs());
    body.put("running", l.running());
    body.put("reserved", l.reserved());
    body.put("free_kv_blocks", l.freeKvBlocks());
    WorkerRole.State r = role.state();
    body.put("role", r.role());
    body.put("role_epoch", r.epoch());
    post("/internal/v1/instances/" + descriptor.path("id").asText() + "/heartbeat", body.toString())
        .onSuccess(
            status -> {
              if (status == 404) {
                registered.set(false);
              }
            });
  }

  private io.vertx.core.Future<Integer> post(String path, String body) {
    RequestOptions o =
        new RequestOptions()
            .setMethod(HttpMethod.POST)
            .setHost(controller.getHost())
            .setPort(controller.getPort())
            .setURI(path)
            .setTimeout(2000)
            .putHeader("content-type", "application/json");
    return client
        .request(o)
        .compose(r -> r.send(Buffer.buffer(body)))
        .compose(resp -> resp.body().map(b -> resp.statusCode()))
        .onFailure(e -> LOG.debug("controller {} unreachable: {}", controller, e.toString()));
  }

  @Override
  public void close() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    client.close();
  }
}
