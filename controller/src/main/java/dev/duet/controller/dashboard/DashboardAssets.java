package dev.duet.controller.dashboard;

import dev.duet.controller.gateway.Gateway;
import dev.duet.controller.openai.ApiError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * The operator dashboard at {@value #PREFIX}: a static page, script and style sheet read once from
 * the classpath ({@value #RESOURCES}) and served as they are. The page needs no token to load; it
 * asks the operator for the admin API's bearer token and reads everything through {@code
 * /admin/v1}. Only the files named here are served (no path from the request reaches the
 * classpath). The Content-Security-Policy allows scripts, styles and requests from this origin
 * only.
 *
 * <p>Immutable after construction; {@link #serve} runs on the event loop and never blocks.
 */
public final class DashboardAssets {

  /** Where the dashboard is mounted. */
  public static final String PREFIX = "/ui";

  static final String RESOURCES = "/dev/duet/controller/dashboard/";

  private static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
          + " img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private record Asset(String contentType, Buffer body) {}

  private final Map<String, Asset> assets;

  /**
   * @throws IllegalStateException when a file is missing from the jar (a build mistake)
   */
  public DashboardAssets() {
    Asset index = load("index.html", "text/html; charset=utf-8");
    assets =
        Map.of(
            PREFIX,
            index,
            PREFIX + "/",
            index,
            PREFIX + "/dashboard.js",
            load("dashboard.js", "text/javascript; charset=utf-8"),
            PREFIX + "/charts.js",
            load("charts.js", "text/javascript; charset=utf-8"),
            PREFIX + "/dashboard.css",
            load("dashboard.css", "text/css; charset=utf-8"));
  }

  /** Whether a request path is the dashboard's. */
  public static boolean owns(String path) {
    return path.equals(PREFIX) || path.startsWith(PREFIX + "/");
  }

  /** Answers a request whose path this {@link #owns}. */
  public void serve(HttpServerRequest req) {
    Asset a = assets.get(req.path());
    if (a == null) {
      Gateway.error(
          req.response(),
          new ApiError(
              404, "not_found_error", null, null, "no such dashboard file: " + req.path()));
      return;
    }
    if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
      req.response().putHeader("allow", "GET, HEAD");
      Gateway.error(
          req.response(),
          new ApiError(
              405,
              "invalid_request_error",
              null,
              "method_not_allowed",
              "use GET for " + req.path()));
      return;
    }
    req.response()
        .putHeader("content-type", a.contentType())
        .putHeader("cache-control", "no-cache")
        .putHeader("content-security-policy", CSP)
        .putHeader("x-content-type-options", "nosniff")
        .putHeader("referrer-policy", "no-referrer");
    if (req.method() == HttpMethod.HEAD) {
      req.response().putHeader("content-length", String.valueOf(a.body().length())).end();
    } else {
      req.response().end(a.body());
    }
  }

  private static Asset load(String name, String contentType) {
    try (InputStream in = DashboardAssets.class.getResourceAsStream(RESOURCES + name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + RESOURCES + name);
      }
      return new Asset(contentType, Buffer.buffer(in.readAllBytes()));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + RESOURCES + name + ": " + e, e);
    }
  }
}
