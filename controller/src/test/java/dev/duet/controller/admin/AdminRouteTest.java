package dev.duet.controller.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.Test;

class AdminRouteTest {

  private static AdminRoute route(String path) {
    return new AdminRoute(HttpMethod.POST, path, c -> Future.failedFuture("unused"));
  }

  @Test
  void aTemplateMatchesOneSegmentForItsIdAndNothingElse() {
    AdminRoute r = route("/admin/v1/requests/{id}/migrate");
    assertThat(r.match("/admin/v1/requests/cmpl-7f3a/migrate"))
        .isEqualTo(new AdminRoute.Match(true, "cmpl-7f3a"));
    assertThat(r.match("/admin/v1/requests//migrate").matched()).isFalse();
    assertThat(r.match("/admin/v1/requests/a/b/migrate").matched()).isFalse();
    assertThat(r.match("/admin/v1/requests/x/migrate/").matched()).isFalse();
    assertThat(route("/admin/v1/instances/{id}").match("/admin/v1/instances/d-1/cordon").matched())
        .isFalse();
    assertThat(route("/admin/v1/cluster").match("/admin/v1/cluster"))
        .isEqualTo(new AdminRoute.Match(true, null));
  }
}
