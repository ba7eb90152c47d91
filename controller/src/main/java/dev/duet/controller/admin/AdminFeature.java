package dev.duet.controller.admin;

import io.vertx.core.http.HttpMethod;

/**
 * The operator endpoints whose logic lives outside the admin package and is plugged in with {@link
 * AdminApi#register}. Until a handler is registered the endpoint answers 501 with a JSON error
 * naming the feature.
 */
public enum AdminFeature {
  /** Flip an instance's role (prefill ↔ decode). */
  ROLE(HttpMethod.POST, "/admin/v1/instances/{id}/role", "role flips"),
  /** Drain an instance: migrate or finish its requests, then take no more. */
  DRAIN(HttpMethod.POST, "/admin/v1/instances/{id}/drain", "draining"),
  /** Move a running request to another decode instance. */
  MIGRATE(HttpMethod.POST, "/admin/v1/requests/{id}/migrate", "live migration"),
  /** Read the policy (SLOs, bounds, intervals). */
  POLICY_GET(HttpMethod.GET, "/admin/v1/policy", "the policy"),
  /** Replace the policy; {@code ?dryRun=true} validates and shows the effect without applying. */
  POLICY_PUT(HttpMethod.PUT, "/admin/v1/policy", "the policy"),
  /** The planner's forecast, targets and last decisions. */
  PLANNER(HttpMethod.GET, "/admin/v1/planner", "the planner"),
  /**
   * The cluster's recent history (instances per role, load, arrivals, latencies) for dashboards.
   */
  HISTORY(HttpMethod.GET, "/admin/v1/history", "the cluster history");

  private final HttpMethod method;
  private final String path;
  private final String what;

  AdminFeature(HttpMethod method, String path, String what) {
    this.method = method;
    this.path = path;
    this.what = what;
  }

  public HttpMethod method() {
    return method;
  }

  /** The path template, {@code {id}} standing for one path segment. */
  public String path() {
    return path;
  }

  /** What the feature is, for the 501 message: "live migration is not available yet". */
  public String what() {
    return what;
  }
}
