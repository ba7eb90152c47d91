package dev.duet.controller.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.admin.AdminApi;
import dev.duet.controller.admin.AdminFeature;
import dev.duet.controller.admin.AdminReply;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.ApiException;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import io.vertx.core.Future;

/**
 * The operator's live-migration endpoints: {@code POST /admin/v1/requests/{id}/migrate} (optional
 * {@code {"target": "…"}}) answers the migration's result; {@code POST
 * /admin/v1/instances/{id}/drain} cordons the instance and migrates every request away (a colocated
 * or prefill instance, whose requests cannot move, is cordoned and left to finish them), answering
 * each result. Both record events.
 *
 * <p>Threading: handlers run on the controller's event loop and do not block.
 */
public final class MigrationAdmin {

  private static final ObjectMapper JSON = new ObjectMapper();

  private MigrationAdmin() {}

  /** Plugs the migrate and drain handlers into {@code admin}. */
  public static void register(
      AdminApi admin, Gateway gateway, InstanceRegistry registry, EventLog events) {
    admin.register(
        AdminFeature.MIGRATE,
        call -> {
          JsonNode body = call.body().length == 0 ? JSON.createObjectNode() : call.json();
          String target = body.path("target").isTextual() ? body.get("target").asText() : null;
          return gateway
              .migrator()
              .migrate(call.id(), target)
              .map(
                  r -> {
                    if (r.outcome().equals("not_found")) {
                      throw new ApiException(
                          ApiError.notFound("id", "no request " + call.id() + " is in flight"));
                    }
                    if (!r.migrated()) {
                      throw new ApiException(
                          new ApiError(
                              409,
                              "conflict_error",
                              null,
                              "migration_" + r.outcome(),
                              "not migrated ("
                                  + r.outcome()
                                  + "): "
                                  + r.detail()
                                  + "; it runs on "
                                  + r.source()));
                    }
                    return AdminReply.ok(r.toJson());
                  });
        });
    admin.register(
        AdminFeature.DRAIN,
        call -> {
          InstanceView i =
              registry
                  .find(call.id())
                  .orElseThrow(
                      () ->
                          new ApiException(
                              ApiError.notFound("id", "no instance " + call.id() + " is known")));
          registry.cordon(i.id(), true);
          events.record(EventKind.DRAIN, i.id(), null, "draining: cordoned, moving its requests");
          if (i.descriptor().role() != InstanceRole.DECODE) {
            ObjectNode o = JSON.createObjectNode();
            o.put("instance", i.id());
            o.put("cordoned", true);
            o.put(
                "detail",
                "a "
                    + i.descriptor().role().name().toLowerCase(java.util.Locale.ROOT)
                    + " instance's requests cannot move; it finishes them and takes no more");
            o.putArray("migrations");
            return Future.succeededFuture(AdminReply.accepted(o));
          }
          return gateway
              .migrator()
              .drain(i.id(), Migrator.DRAIN_PARALLEL)
              .map(
                  results -> {
                    ObjectNode o = JSON.createObjectNode();
                    o.put("instance", i.id());
                    o.put("cordoned", true);
                    long moved = results.stream().filter(Migrator.Result::migrated).count();
                    o.put("migrated", moved);
                    o.put("not_migrated", results.size() - moved);
                    ArrayNode a = o.putArray("migrations");
                    results.forEach(r -> a.add(r.toJson()));
                    return AdminReply.ok(o);
                  });
        });
  }
}
