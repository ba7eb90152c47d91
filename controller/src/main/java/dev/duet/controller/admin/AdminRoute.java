package dev.duet.controller.admin;

import io.vertx.core.http.HttpMethod;
import java.util.Objects;

/**
 * One operator endpoint: a method, a path template ({@code {id}} stands for one path segment) and
 * its handler. Immutable.
 *
 * @param method the HTTP method
 * @param path the template, e.g. {@code /admin/v1/instances/{id}/cordon}
 * @param handler what answers it
 */
public record AdminRoute(HttpMethod method, String path, AdminHandler handler) {

  /** What matching a request path against a template gives. */
  public record Match(boolean matched, String id) {
    static final Match NONE = new Match(false, null);
  }

  public AdminRoute {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(handler, "handler");
    if (path == null || !path.startsWith(AdminApi.PREFIX)) {
      throw new IllegalArgumentException(
          "an admin path starts with " + AdminApi.PREFIX + ", got " + path);
    }
  }

  /** Matches {@code requestPath} against the template; the id is the {@code {id}} segment. */
  public Match match(String requestPath) {
    int brace = path.indexOf("{id}");
    if (brace < 0) {
      return path.equals(requestPath) ? new Match(true, null) : Match.NONE;
    }
    String head = path.substring(0, brace);
    String tail = path.substring(brace + "{id}".length());
    if (requestPath.length() <= head.length() + tail.length()
        || !requestPath.startsWith(head)
        || !requestPath.endsWith(tail)) {
      return Match.NONE;
    }
    String id = requestPath.substring(head.length(), requestPath.length() - tail.length());
    return id.isEmpty() || id.contains("/") ? Match.NONE : new Match(true, id);
  }
}
