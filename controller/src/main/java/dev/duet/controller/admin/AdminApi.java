package dev.duet.controller.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.events.EventPage;
import dev.duet.controller.gateway.Gateway;
import dev.duet.controller.gateway.GatewayMetrics;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.ApiException;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceView;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator REST API under {@value #PREFIX}: cluster summary, instances, cordon/uncordon,
 * events, the OpenAPI document, and the endpoints whose features plug in later ({@link
 * AdminFeature}: role flips, drain, migration, policy, planner), which answer 501 until {@link
 * #register registered}.
 *
 * <p>Every path needs {@code Authorization: Bearer <token>}: without one the answer is 401 with
 * {@code WWW-Authenticate: Bearer}, with a wrong one 403. Errors are OpenAI-shaped JSON like the
 * rest of the controller.
 *
 * <p>Threading: {@link #handle} and the handlers run on the controller's event loop; {@link
 * #register} may be called from any thread (the handler table is a concurrent snapshot).
 */
public final class AdminApi {

  private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Where the API is mounted. */
  public static final String PREFIX = "/admin/v1";

  /** The largest body accepted (a policy file is a few KB). */
  public static final int MAX_BODY_BYTES = 1 << 20;

  static final String OPENAPI_RESOURCE = "/dev/duet/controller/admin/openapi.json";

  private static final int DEFAULT_EVENT_PAGE = 100;
  private static final int MAX_EVENT_PAGE = 1000;

  private final AdminToken token;
  private final InstanceRegistry registry;
  private final EventLog events;
  private final GatewayMetrics metrics;
  private final LongSupplier nanoClock;
  private final JsonNode openApi;
  private final List<AdminRoute> builtIn;
  private final Map<AdminFeature, AdminHandler> plugged = new EnumMap<>(AdminFeature.class);

  /**
   * @param nanoClock the registry's monotonic clock, for heartbeat ages
   */
  public AdminApi(
      AdminToken token,
      InstanceRegistry registry,
      EventLog events,
      GatewayMetrics metrics,
      LongSupplier nanoClock) {
    this.token = Objects.requireNonNull(token, "token");
    this.registry = Objects.requireNonNull(registry, "registry");
    this.events = Objects.requireNonNull(events, "events");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    this.openApi = loadOpenApi();
    this.builtIn =
        List.of(
            new AdminRoute(
                HttpMethod.GET,
                PREFIX + "/openapi.json",
                c -> Future.succeededFuture(AdminReply.ok(openApi))),
            new AdminRoute(HttpMethod.GET, PREFIX + "/cluster", this::cluster),
            new AdminRoute(HttpMethod.GET, PREFIX + "/instances", this::instances),
            new AdminRoute(HttpMethod.GET, PREFIX + "/instances/{id}", this::instance),
            new AdminRoute(
                HttpMethod.POST, PREFIX + "/instances/{id}/cordon", c -> cordon(c, true)),
            new AdminRoute(
                HttpMethod.POST, PREFIX + "/instances/{id}/uncordon", c -> cordon(c, false)),
            new AdminRoute(HttpMethod.GET, PREFIX + "/events", this::events));
  }

  /**
   * Plugs in the handler of a feature that lives elsewhere; until then its endpoint answers 501.
   *
   * @throws IllegalStateException when the feature has a handler already (a wiring mistake)
   */
  public AdminApi register(AdminFeature feature, AdminHandler handler) {
    Objects.requireNonNull(handler, "handler");
    synchronized (plugged) {
      if (plugged.putIfAbsent(feature, handler) != null) {
        throw new IllegalStateException(
            feature + " (" + feature.path() + ") has a handler already");
      }
    }
    return this;
  }

  /** Every route served, built-in and pluggable (registered or not), in a stable order. */
  public List<AdminRoute> routes() {
    List<AdminRoute> all = new ArrayList<>(builtIn);
    for (AdminFeature f : AdminFeature.values()) {
      all.add(new AdminRoute(f.method(), f.path(), handlerOf(f)));
    }
    return List.copyOf(all);
  }

  /** Whether a request path belongs to this API. */
  public static boolean owns(String path) {
    return path.equals(PREFIX) || path.startsWith(PREFIX + "/");
  }

  /** Answers a request whose path this API {@link #owns}. */
  public void handle(HttpServerRequest req) {
    HttpServerResponse resp = req.response();
    switch (token.check(req.getHeader("authorization"))) {
      case MISSING -> {
        resp.putHeader("www-authenticate", "Bearer realm=\"duet-admin\"");
        Gateway.error(
            resp,
            new ApiError(
                401,
                "authentication_error",
                null,
                "missing_token",
                "the operator API needs 'Authorization: Bearer <token>' (duet controller"
                    + " --admin-token or "
                    + AdminToken.ENV
                    + ")"));
        return;
      }
      case WRONG -> {
        Gateway.error(
            resp,
            new ApiError(
                403, "permission_error", null, "invalid_token", "the bearer token is not valid"));
        return;
      }
      case OK -> {}
    }
    String path = req.path();
    List<AdminRoute> routes = routes();
    AdminRoute route = null;
    AdminRoute.Match match = AdminRoute.Match.NONE;
    List<String> allowed = new ArrayList<>();
    for (AdminRoute r : routes) {
      AdminRoute.Match m = r.match(path);
      if (m.matched()) {
        allowed.add(r.method().name());
        if (r.method().equals(req.method())) {
          route = r;
          match = m;
        }
      }
    }
    if (route == null) {
      if (allowed.isEmpty()) {
        Gateway.error(
            resp,
            new ApiError(404, "not_found_error", null, null, "no such operator endpoint: " + path));
      } else {
        resp.putHeader("allow", String.join(", ", allowed));
        Gateway.error(
            resp,
            new ApiError(
                405,
                "invalid_request_error",
                null,
                "method_not_allowed",
                "use " + String.join(" or ", allowed) + " for " + path));
      }
      return;
    }
    AdminRoute chosen = route;
    String id = match.id();
    Map<String, String> query = new HashMap<>();
    req.params().forEach(e -> query.putIfAbsent(e.getKey(), e.getValue()));
    String type = req.getHeader("content-type");
    readBounded(req)
        .onSuccess(body -> run(chosen, new AdminCall(id, query, type, body), req))
        .onFailure(e -> Gateway.error(resp, ((ApiException) e).error()));
  }

  /**
   * The request's body, refused (413, and the connection closed) as soon as it passes {@link
   * #MAX_BODY_BYTES}, whether or not it declared its length.
   */
  private static Future<byte[]> readBounded(HttpServerRequest req) {
    String length = req.getHeader("content-length");
    ApiException tooLarge =
        new ApiException(ApiError.tooLarge("the body is over " + MAX_BODY_BYTES + " bytes"));
    if (length != null && parseLength(length) > MAX_BODY_BYTES) {
      closeAfterAnswering(req);
      return Future.failedFuture(tooLarge);
    }
    Promise<byte[]> done = Promise.promise();
    Buffer body = Buffer.buffer();
    req.handler(
        chunk -> {
          if (body.length() + chunk.length() > MAX_BODY_BYTES) {
            req.pause();
            closeAfterAnswering(req);
            done.tryFail(tooLarge);
          } else {
            body.appendBuffer(chunk);
          }
        });
    req.exceptionHandler(
        e -> done.tryFail(new ApiException(ApiError.invalid(null, "unreadable body: " + e))));
    req.endHandler(v -> done.tryComplete(body.getBytes()));
    return done.future();
  }

  /**
   * Closes the connection once the answer is sent, and says so ({@code Connection: close}): a
   * client that was not told would reuse the connection for its next request and read nothing.
   */
  private static void closeAfterAnswering(HttpServerRequest req) {
    req.response().putHeader("connection", "close");
    req.response().endHandler(v -> req.connection().close());
  }

  private void run(AdminRoute route, AdminCall call, HttpServerRequest req) {
    HttpServerResponse resp = req.response();
    Future<AdminReply> reply;
    try {
      reply = route.handler().handle(call);
      if (reply == null) {
        reply = Future.failedFuture(new IllegalStateException("the handler returned no future"));
      }
    } catch (RuntimeException e) {
      reply = Future.failedFuture(e);
    }
    reply
        .onSuccess(
            r ->
                resp.setStatusCode(r.status())
                    .putHeader("content-type", "application/json")
                    .end(r.body().toString()))
        .onFailure(
            e -> {
              if (e instanceof ApiException api) {
                Gateway.error(resp, api.error());
              } else {
                LOG.error("{} {} failed", req.method(), req.path(), e);
                Gateway.error(
                    resp, new ApiError(500, "server_error", null, null, "internal error: " + e));
              }
            });
  }

  private AdminHandler handlerOf(AdminFeature f) {
    AdminHandler h;
    synchronized (plugged) {
      h = plugged.get(f);
    }
    return h != null ? h : call -> notYet(f);
  }

  private static Future<AdminReply> notYet(AdminFeature f) {
    return Future.failedFuture(
        new ApiException(
            new ApiError(
                501,
                "not_implemented_error",
                null,
                "feature_not_available",
                f.method().name()
                    + " "
                    + f.path()
                    + ": "
                    + f.what()
                    + " is not available yet in this controller")));
  }

  private Future<AdminReply> cluster(AdminCall call) {
    List<InstanceView> all = registry.snapshot();
    return Future.succeededFuture(
        AdminReply.ok(
            AdminViews.cluster(
                all, metrics.inFlight(), metrics.arrivalsPerSecond(), events.lastId())));
  }

  private Future<AdminReply> instances(AdminCall call) {
    List<InstanceView> all = registry.snapshot();
    return Future.succeededFuture(AdminReply.ok(AdminViews.instances(all, nanoClock.getAsLong())));
  }

  private Future<AdminReply> instance(AdminCall call) {
    InstanceView v = find(call.id());
    return Future.succeededFuture(AdminReply.ok(AdminViews.instance(v, nanoClock.getAsLong())));
  }

  private Future<AdminReply> cordon(AdminCall call, boolean on) {
    if (!registry.cordon(call.id(), on)) {
      throw unknownInstance(call.id());
    }
    LOG.info("instance {} {} by the operator", call.id(), on ? "cordoned" : "uncordoned");
    return instance(call);
  }

  private Future<AdminReply> events(AdminCall call) {
    long after = longParam(call, "after", 0, 0, Long.MAX_VALUE);
    int limit = (int) longParam(call, "limit", DEFAULT_EVENT_PAGE, 1, MAX_EVENT_PAGE);
    registry.snapshot(); // notices deaths since the last look, so they are in the page
    EventPage page = events.page(after, limit);
    return Future.succeededFuture(AdminReply.ok(AdminViews.events(page)));
  }

  private InstanceView find(String id) {
    return registry.find(id).orElseThrow(() -> unknownInstance(id));
  }

  private static ApiException unknownInstance(String id) {
    return new ApiException(
        new ApiError(
            404, "not_found_error", "id", "instance_not_found", "no instance '" + id + "'"));
  }

  private static long longParam(AdminCall call, String name, long dflt, long min, long max) {
    String v = call.query().get(name);
    if (v == null) {
      return dflt;
    }
    try {
      long n = Long.parseLong(v);
      if (n < min || n > max) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new ApiException(
          ApiError.invalid(
              name, name + " must be an integer in [" + min + ", " + max + "], got '" + v + "'"));
    }
  }

  private static long parseLength(String header) {
    try {
      return Long.parseLong(header.strip());
    } catch (NumberFormatException e) {
      return Long.MAX_VALUE;
    }
  }

  /** Reads the OpenAPI document from the classpath, once: a broken one fails startup. */
  static JsonNode loadOpenApi() {
    try (InputStream in = AdminApi.class.getResourceAsStream(OPENAPI_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + OPENAPI_RESOURCE);
      }
      return JSON.readTree(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + OPENAPI_RESOURCE + ": " + e, e);
    }
  }
}
