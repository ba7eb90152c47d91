package dev.duet.controller.tidal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import dev.duet.controller.admin.AdminApi;
import dev.duet.controller.admin.AdminFeature;
import dev.duet.controller.admin.AdminReply;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.ApiException;
import dev.duet.controller.planner.Action;
import dev.duet.controller.planner.Decision;
import dev.duet.controller.planner.GroupPlan;
import dev.duet.controller.policy.InvalidPolicyException;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyError;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.policy.VersionedPolicy;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The operator's policy and planner endpoints: {@code GET /admin/v1/policy} (version, who, when,
 * the YAML source and the parsed policy with every default filled in), {@code PUT /admin/v1/policy}
 * (a YAML body; {@code 422} listing every {@code path: value: reason} when invalid; {@code
 * ?dryRun=true} validates and answers what the planner would decide under it now, changing nothing;
 * {@code ?who=NAME} names the author) and {@code GET /admin/v1/planner} (whether it runs, the
 * policy version of its last round, and the last decision: forecasts, sizing, targets, actions and
 * why).
 *
 * <p>Threading: handlers run on the controller's event loop; each is a parse or a planning pass,
 * quick enough not to hand off.
 */
public final class PlannerAdmin {
  private static final ObjectMapper JSON = new ObjectMapper().registerModule(new Jdk8Module());

  private PlannerAdmin() {}

  /**
   * Plugs the policy and planner handlers into {@code admin}.
   *
   * @param loop the planner loop (its planner, instances and last round)
   * @param running whether the loop runs rounds (false: the planner only answers dry runs)
   * @param flips whether its flips change roles (false until in-place flips are wired in)
   * @param millis the loop's clock, ms
   */
  public static void register(
      AdminApi admin,
      PolicyStore policies,
      PlannerLoop loop,
      boolean running,
      boolean flips,
      LongSupplier millis) {
    admin.register(
        AdminFeature.POLICY_GET, call -> Future.succeededFuture(AdminReply.ok(policy(policies))));
    admin.register(
        AdminFeature.POLICY_PUT,
        call -> {
          String yaml = call.text();
          if (call.flag("dryRun")) {
            Policy candidate;
            try {
              candidate = PolicyStore.validate(yaml);
            } catch (InvalidPolicyException e) {
              throw invalid(e.errors());
            }
            long now = millis.getAsLong();
            Decision d = loop.planner().dryRun(candidate, now, loop.instances(now));
            ObjectNode o = JSON.createObjectNode();
            o.put("dry_run", true);
            o.put("valid", true);
            o.put("current_version", policies.current().version());
            o.set("policy", JSON.valueToTree(candidate));
            o.set("decision", decision(d));
            return Future.succeededFuture(AdminReply.ok(o));
          }
          String who = call.query().getOrDefault("who", "operator API");
          return switch (policies.replace(yaml, who)) {
            case PolicyStore.Outcome.Rejected r -> throw invalid(r.errors());
            case PolicyStore.Outcome.Accepted a ->
                Future.succeededFuture(AdminReply.ok(version(a.version())));
          };
        });
    admin.register(
        AdminFeature.PLANNER,
        call -> {
          ObjectNode o = JSON.createObjectNode();
          o.put("running", running);
          o.put("flips_available", flips);
          o.put("policy_version", loop.policyVersion());
          o.set("counts", JSON.valueToTree(loop.counts()));
          var last = loop.planner().last();
          if (last.isPresent()) {
            o.set("last", decision(last.get()));
          } else {
            o.putNull("last");
          }
          return Future.succeededFuture(AdminReply.ok(o));
        });
  }

  private static ApiException invalid(List<PolicyError> errors) {
    return new ApiException(
        new ApiError(
            422,
            "invalid_request_error",
            errors.isEmpty() ? null : errors.getFirst().path(),
            "invalid_policy",
            "invalid policy ("
                + errors.size()
                + (errors.size() == 1 ? " error" : " errors")
                + "):\n"
                + String.join("\n", errors.stream().map(PolicyError::toString).toList())));
  }

  private static ObjectNode policy(PolicyStore policies) {
    VersionedPolicy v = policies.current();
    ObjectNode o = version(v);
    o.put("source", v.source());
    o.set("policy", JSON.valueToTree(v.policy()));
    return o;
  }

  private static ObjectNode version(VersionedPolicy v) {
    ObjectNode o = JSON.createObjectNode();
    o.put("version", v.version());
    o.put("who", v.who());
    o.put("when", v.when().toString());
    return o;
  }

  /** A decision as JSON: when, per group the forecast, sizing and targets, actions, why. */
  static ObjectNode decision(Decision d) {
    ObjectNode o = JSON.createObjectNode();
    o.put("at", Instant.ofEpochMilli(d.atMillis()).toString());
    ArrayNode groups = o.putArray("groups");
    for (GroupPlan g : d.groups()) {
      groups.add(JSON.valueToTree(g));
    }
    ArrayNode actions = o.putArray("actions");
    for (Action a : d.actions()) {
      ObjectNode x = actions.addObject();
      switch (a) {
        case Action.Flip f -> {
          x.put("type", "flip");
          x.put("instance", f.instanceId());
          x.put("from", role(f.from()));
          x.put("to", role(f.to()));
        }
        case Action.ScaleUp u -> {
          x.put("type", "scale_up");
          x.put("role", role(u.role()));
        }
        case Action.ScaleDown s -> {
          x.put("type", "scale_down");
          x.put("instance", s.instanceId());
          x.put("role", role(s.role()));
        }
      }
      x.put("group", a.group());
    }
    o.set("why", JSON.valueToTree(d.why()));
    return o;
  }

  private static String role(dev.duet.controller.registry.InstanceRole r) {
    return r.wireName();
  }
}
