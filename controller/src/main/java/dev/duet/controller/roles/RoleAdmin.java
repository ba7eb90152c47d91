package dev.duet.controller.roles;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.admin.AdminApi;
import dev.duet.controller.admin.AdminFeature;
import dev.duet.controller.admin.AdminReply;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.ApiException;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import java.util.Locale;

/**
 * The operator's role flip: {@code POST /admin/v1/instances/{id}/role {"role": "prefill"|"decode",
 * "force": false}} flips the instance in place and answers the {@link RoleFlipper.FlipResult} (200,
 * with {@code done} false when the instance did not empty in time). 400 for a bad role, 404 for an
 * unknown or dead instance, 409 for a colocated instance, one flipping already, or the last live
 * instance of its role unless {@code force} is true.
 *
 * <p>Threading: the handler runs on the controller's event loop and does not block.
 */
public final class RoleAdmin {

  private static final ObjectMapper JSON = new ObjectMapper();

  private RoleAdmin() {}

  /** Plugs the role handler into {@code admin}. */
  public static void register(AdminApi admin, RoleFlipper flipper, InstanceRegistry registry) {
    admin.register(
        AdminFeature.ROLE,
        call -> {
          JsonNode body = call.json();
          String role = body.path("role").asText("").toLowerCase(Locale.ROOT);
          if (!role.equals("prefill") && !role.equals("decode")) {
            throw new ApiException(
                ApiError.invalid(
                    "role", "role must be \"prefill\" or \"decode\", got " + body.path("role")));
          }
          JsonNode force = body.path("force");
          if (!force.isMissingNode() && !force.isBoolean()) {
            throw new ApiException(ApiError.invalid("force", "force must be true or false"));
          }
          InstanceRole to = InstanceRole.valueOf(role.toUpperCase(Locale.ROOT));
          FlipCheck.refusal(
                  registry.alive(),
                  call.id(),
                  to,
                  flipper.flipping(call.id()),
                  force.asBoolean(false))
              .ifPresent(
                  r -> {
                    throw new ApiException(
                        switch (r.status()) {
                          case 404 -> ApiError.notFound("id", r.message());
                          case 409 -> ApiError.conflict("id", r.message());
                          default -> ApiError.invalid("role", r.message());
                        });
                  });
          return flipper
              .flip(call.id(), to, force.asBoolean(false))
              .map(r -> AdminReply.ok(toJson(r)));
        });
  }

  /** The result as the operator API answers it. */
  public static ObjectNode toJson(RoleFlipper.FlipResult r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("instance", r.instance());
    o.put("from", r.from() == null ? null : r.from().wireName());
    o.put("to", r.to().wireName());
    o.put("done", r.done());
    o.put("millis", r.millis());
    o.put("detail", r.detail());
    return o;
  }
}
