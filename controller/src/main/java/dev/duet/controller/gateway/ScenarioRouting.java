package dev.duet.controller.gateway;

import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.policy.ScenarioClassifier;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.routing.GroupScope;
import dev.duet.controller.routing.RoutePlan;
import dev.duet.controller.routing.Router;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The gateway's scenario groups: puts a request in its group by the current policy's {@link
 * ScenarioClassifier}, and routes it among that group's instances ({@link GroupScope}), counting
 * each fallback to the default group's instances in {@code duet_group_fallbacks_total{group}}.
 * Until {@link #classifyBy} is called there is no group but the default one.
 *
 * <p>Threading: thread-safe (the policy source and the scope of the last policy seen are volatile;
 * the scope is rebuilt when the policy changes).
 */
final class ScenarioRouting {

  /** The policy of a gateway that was given none: no scenario group. */
  private static final Policy NO_GROUPS = Policy.defaults();

  private final GatewayMetrics metrics;
  private volatile Supplier<Policy> policy = () -> NO_GROUPS;
  private volatile Scope scope = new Scope(NO_GROUPS, GroupScope.DEFAULT_ONLY);

  private record Scope(Policy policy, GroupScope groups) {}

  ScenarioRouting(GatewayMetrics metrics) {
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  /** Classifies by the current policy of {@code policies} from now on. */
  void classifyBy(PolicyStore policies) {
    Objects.requireNonNull(policies, "policies");
    this.policy = () -> policies.current().policy();
  }

  /** Which instances serve which group, under the current policy. */
  GroupScope groups() {
    Policy p = policy.get();
    Scope s = scope;
    if (s.policy() != p) {
      s = new Scope(p, GroupScope.of(p.groupNames()));
      scope = s;
    }
    return s.groups();
  }

  /** The group of a request (by model, headers and prompt length). */
  String classify(String model, Map<String, String> headers, int promptTokens) {
    return new ScenarioClassifier(policy.get()).classify(model, headers, promptTokens);
  }

  /**
   * Whether {@code group} has routable instances of both roles (its own or the default group's):
   * when it does and a request has no route, they lack room, which frees as requests finish.
   */
  boolean servable(List<InstanceView> alive, String group) {
    GroupScope groups = groups();
    return !groups
            .choose(alive, group, i -> i.routable() && i.descriptor().role().decodes())
            .instances()
            .isEmpty()
        && !groups
            .choose(alive, group, i -> i.routable() && i.descriptor().role().prefills())
            .instances()
            .isEmpty();
  }

  /**
   * The route of a request of {@code group}: the decode instance and the prefill candidates each
   * from the group's own routable instances, or from the default group's when the group has none
   * for that role (counted as one fallback when {@code count}: a request waiting for room is routed
   * again and again, and counted once). Decode instances are capped at the batch the group's TPOT
   * SLO allows when the policy's {@code admission.tpotBatchCap} is on ({@link Router#batchCap}).
   */
  Optional<RoutePlan> route(
      Router router,
      List<InstanceView> alive,
      String group,
      int promptTokens,
      int maxTokens,
      boolean count) {
    GroupScope groups = groups();
    GroupScope.Choice decodes =
        groups.choose(alive, group, i -> i.routable() && i.descriptor().role().decodes());
    GroupScope.Choice prefills =
        groups.choose(alive, group, i -> i.routable() && i.descriptor().role().prefills());
    if (count && (decodes.fallback() || prefills.fallback())) {
      metrics.groupFallback(group);
    }
    return router.plan(
        decodes.instances(), prefills.instances(), promptTokens, maxTokens, batchCapTpotMs(group));
  }

  /**
   * The TPOT SLO that caps the decode batches of {@code group}'s requests ({@link
   * Router#batchCap}), or 0 when the policy's {@code admission.tpotBatchCap} is off.
   */
  double batchCapTpotMs(String group) {
    Policy p = policy.get();
    return p.admission().tpotBatchCap() ? p.sloOf(group).tpotMs() : 0;
  }
}
