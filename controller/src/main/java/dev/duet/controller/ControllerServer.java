package dev.duet.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.admin.AdminApi;
import dev.duet.controller.dashboard.DashboardAssets;
import dev.duet.controller.gateway.Gateway;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.OpenAiRequest.Kind;
import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.registry.StepTime;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.util.Locale;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's HTTP server: the OpenAI-compatible API (through {@link Gateway}), the workers'
 * registration and heartbeats ({@code POST /internal/v1/instances}, {@code POST
 * /internal/v1/instances/{id}/heartbeat}), health, and the operator API ({@link AdminApi}, under
 * {@code /admin/v1}) with its dashboard ({@link DashboardAssets}, under {@code /ui}) when one is
 * given.
 *
 * <p>Threading: handlers run on the event loop; the registry is thread-safe.
 */
public final class ControllerServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ControllerServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The largest request body accepted (a 413 beyond). */
  public static final int MAX_BODY_BYTES = 8 << 20;

  private final Vertx vertx;
  private final Gateway gateway;
  private final InstanceRegistry registry;
  private final AdminApi admin;
  private final DashboardAssets dashboard;
  private HttpServer server;

  /** A server without the operator API ({@code /admin/v1} is a 404). */
  public ControllerServer(Vertx vertx, Gateway gateway, InstanceRegistry registry) {
    this(vertx, gateway, registry, null);
  }

  /**
   * @param admin the operator API mounted under {@code /admin/v1}, or null for none
   */
  public ControllerServer(Vertx vertx, Gateway gateway, InstanceRegistry registry, AdminApi admin) {
    this.vertx = vertx;
    this.gateway = gateway;
    this.registry = registry;
    this.admin = admin;
    this.dashboard = admin != null ? new DashboardAssets() : null;
  }

  /** Listens on {@code host:port} (0 picks a port); completes with the port. */
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
    try {
      if (path.equals("/health/live")) {
        req.response().putHeader("content-type", "application/json").end("{\"status\":\"ok\"}");
      } else if (path.equals("/health/ready")) {
        // Ready when at least one instance can serve: otherwise every request would be a 503.
        int alive = registry.alive().size();
        req.response()
            .setStatusCode(alive > 0 ? 200 : 503)
            .putHeader("content-type", "application/json")
            .end(
                "{\"status\":\""
                    + (alive > 0 ? "ok" : "no live instance")
                    + "\",\"instances\":"
                    + alive
                    + "}");
      } else if (path.equals("/metrics")) {
        req.response()
            .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
            .end(gateway.metrics().scrape());
      } else if (admin != null && AdminApi.owns(path)) {
        admin.handle(req);
      } else if (dashboard != null && DashboardAssets.owns(path)) {
        dashboard.serve(req);
      } else if (path.equals("/v1/models") && req.method() == HttpMethod.GET) {
        gateway.models(req);
      } else if (path.equals("/v1/completions")) {
        withBody(req, (r, b) -> gateway.complete(r, Kind.COMPLETION, b));
      } else if (path.equals("/v1/chat/completions")) {
        withBody(req, (r, b) -> gateway.complete(r, Kind.CHAT, b));
      } else if (path.equals("/internal/v1/instances") && req.method() == HttpMethod.GET) {
        instances(req);
      } else if (path.equals("/internal/v1/instances")) {
        withBody(req, this::register);
      } else if (path.startsWith("/internal/v1/instances/") && path.endsWith("/heartbeat")) {
        String id =
            path.substring(
                "/internal/v1/instances/".length(), path.length() - "/heartbeat".length());
        withBody(req, (r, b) -> heartbeat(r, id, b));
      } else {
        Gateway.error(
            req.response(),
            new ApiError(404, "not_found_error", null, null, "no such endpoint: " + path));
      }
    } catch (RuntimeException e) {
      LOG.error("{} {} failed", req.method(), path, e);
      Gateway.error(
          req.response(), new ApiError(500, "server_error", null, null, "internal error"));
    }
  }

  private void withBody(HttpServerRequest req, BiConsumer<HttpServerRequest, Buffer> then) {
    if (req.method() != HttpMethod.POST) {
      Gateway.error(
          req.response(),
          new ApiError(405, "invalid_request_error", null, null, "use POST for " + req.path()));
      return;
    }
    String length = req.getHeader("content-length");
    if (length != null && Long.parseLong(length) > MAX_BODY_BYTES) {
      Gateway.error(
          req.response(), ApiError.tooLarge("the body is over " + MAX_BODY_BYTES + " bytes"));
      req.connection().close();
      return;
    }
    req.body()
        .onSuccess(
            b -> {
              try {
                then.accept(req, b);
              } catch (RuntimeException e) {
                LOG.error("{} {} failed", req.method(), req.path(), e);
                Gateway.error(
                    req.response(),
                    new ApiError(500, "server_error", null, null, "internal error"));
              }
            })
        .onFailure(
            e -> Gateway.error(req.response(), ApiError.invalid(null, "unreadable body: " + e)));
  }

  private void instances(HttpServerRequest req) {
    ArrayNode list = JSON.createArrayNode();
    for (InstanceView v : registry.snapshot()) {
      ObjectNode o = list.addObject();
      o.put("id", v.id());
      o.put("role", v.descriptor().role().name().toLowerCase(Locale.ROOT));
      o.put("endpoint", v.descriptor().endpoint());
      o.put("group", v.descriptor().group());
      o.put("alive", v.alive());
      o.put("running", v.load().running());
      o.put("queued", v.load().queued());
      o.put("free_kv_blocks", v.load().freeKvBlocks());
    }
    req.response().putHeader("content-type", "application/json").end(list.toString());
  }

  private void register(HttpServerRequest req, Buffer body) {
    try {
      JsonNode j = JSON.readTree(body.getBytes());
      InstanceDescriptor d =
          new InstanceDescriptor(
              j.path("id").asText(null),
              InstanceRole.valueOf(j.path("role").asText("").toUpperCase(Locale.ROOT)),
              j.path("endpoint").asText(null),
              j.path("model").asText(null),
              j.path("kv_blocks").asInt(),
              j.path("block_size").asInt(),
              j.path("max_batch").asInt(),
              j.path("group").asText(InstanceDescriptor.DEFAULT_GROUP));
      registry.register(d, j.path("role_epoch").asLong(0));
      LOG.info("registered {} ({}, group {}) at {}", d.id(), d.role(), d.group(), d.endpoint());
      req.response().setStatusCode(201).end();
    } catch (java.io.IOException | IllegalArgumentException e) {
      Gateway.error(req.response(), ApiError.invalid(null, "bad registration: " + e.getMessage()));
    }
  }

  private void heartbeat(HttpServerRequest req, String id, Buffer body) {
    try {
      JsonNode j = JSON.readTree(body.getBytes());
      InstanceLoad load =
          new InstanceLoad(
              j.path("queued").asInt(),
              j.path("queued_prompt_tokens").asLong(),
              j.path("running").asInt(),
              j.path("free_kv_blocks").asInt(),
              j.path("prefill_tokens_per_s").asDouble(),
              j.path("decode_tokens_per_s").asDouble(),
              new StepTime(
                  Math.max(0, j.path("decode_step_fixed_ms").asDouble()),
                  Math.max(0, j.path("decode_step_per_row_ms").asDouble())),
              j.path("reserved").asInt());
      boolean known =
          j.path("role").isTextual()
              ? registry.heartbeat(
                  id,
                  load,
                  InstanceRole.valueOf(j.get("role").asText().toUpperCase(Locale.ROOT)),
                  j.path("role_epoch").asLong(0))
              : registry.heartbeat(id, load);
      if (known) {
        req.response().setStatusCode(204).end();
      } else {
        Gateway.error(
            req.response(),
            new ApiError(404, "not_found_error", "id", null, id + " is not registered (again)"));
      }
    } catch (java.io.IOException | IllegalArgumentException e) {
      Gateway.error(req.response(), ApiError.invalid(null, "bad heartbeat: " + e.getMessage()));
    }
  }

  @Override
  public void close() {
    if (server != null) {
      server.close().await();
    }
  }
}
