package dev.duet.controller.planner;

import dev.duet.controller.policy.PlannerSettings;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.registry.InstanceRole;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The tidal planner: a pure function from a forecast, the instances and their measured capacities,
 * the policy and a clock reading to a {@link Decision}. Per group it sizes prefill and decode for
 * the forecast under the group's SLO ({@link RoleSizing}), applies role bounds, "one of each while
 * traffic flows" and hysteresis, fits all groups into the instance budget, and then orders the
 * cheapest changes ({@link ChangeOrders}): flips first, scaling only where a group's instance count
 * itself must change. No I/O, no clock of its own, no state: the caller keeps the returned {@link
 * PlannerHistory}. Thread-safe.
 */
public final class Planner {
  private Planner() {}

  /**
   * Everything one round looks at.
   *
   * @param nowMillis the clock reading (same clock as the instances' and history's times)
   * @param policy the current policy
   * @param forecast per group, the load expected over the coming interval (missing: idle)
   * @param observed per group, what the tracker saw over its window (missing: nothing seen)
   * @param instances every instance, any group, role and phase
   * @param history what earlier rounds did
   */
  public record Input(
      long nowMillis,
      Policy policy,
      Map<String, LoadRates> forecast,
      Map<String, GroupLoad> observed,
      List<InstanceState> instances,
      PlannerHistory history) {
    public Input {
      Objects.requireNonNull(policy, "policy");
      forecast = Map.copyOf(forecast);
      observed = Map.copyOf(observed);
      instances = List.copyOf(instances);
      Objects.requireNonNull(history, "history");
    }
  }

  /** One group's sizing and counts while a round is worked out. */
  static final class GroupWork {
    final String name;
    final LoadRates forecast;
    final boolean flowing;
    final Policy.Roles bounds;
    Sizing prefill;
    Sizing decode;
    int currentPrefill;
    int currentDecode;
    int targetPrefill;
    int targetDecode;
    int afterPrefill; // counts once this round's flips are done
    int afterDecode;

    GroupWork(String name, LoadRates forecast, boolean flowing, Policy.Roles bounds) {
      this.name = name;
      this.forecast = forecast;
      this.flowing = flowing;
      this.bounds = bounds;
    }

    int lowest(InstanceRole role) {
      Policy.RoleBounds b = role == InstanceRole.PREFILL ? bounds.prefill() : bounds.decode();
      return Math.min(b.max(), Math.max(b.min(), flowing ? 1 : 0));
    }

    GroupPlan plan() {
      return new GroupPlan(
          name,
          forecast,
          prefill,
          decode,
          currentPrefill,
          currentDecode,
          targetPrefill,
          targetDecode);
    }
  }

  public static Decision plan(Input in) {
    Policy policy = in.policy();
    PlannerSettings settings = policy.planner();
    var why = new ArrayList<String>();
    var work = new ArrayList<GroupWork>();
    List<String> names = policy.groupNames();
    for (InstanceState i : in.instances()) {
      if (!names.contains(i.group())) {
        why.add(i.id() + ": group " + i.group() + " is not in the policy; left alone");
      }
    }
    for (String g : names) {
      work.add(size(g, in, why));
    }
    fitBudget(work, in, why);
    fillBudget(work, in, why);
    var orders = new ChangeOrders(in, why);
    for (GroupWork w : work) {
      orders.flips(w);
    }
    for (GroupWork w : work) {
      orders.scaleDowns(w);
    }
    for (GroupWork w : work) {
      orders.scaleUps(w);
    }
    return new Decision(
        in.nowMillis(),
        work.stream().map(GroupWork::plan).toList(),
        orders.actions(),
        why,
        orders.history());
  }

  private static GroupWork size(String g, Input in, List<String> why) {
    Policy policy = in.policy();
    PlannerSettings s = policy.planner();
    LoadRates forecast = in.forecast().getOrDefault(g, LoadRates.ZERO);
    GroupLoad observed = in.observed().getOrDefault(g, GroupLoad.idle(g));
    List<InstanceState> all = in.instances();
    boolean busy =
        all.stream()
            .anyMatch(i -> i.group().equals(g) && (i.running() > 0 || i.queuedPromptTokens() > 0));
    var w =
        new GroupWork(
            g,
            forecast,
            forecast.flowing() || observed.rates().flowing() || busy,
            policy.rolesOf(g));
    w.currentPrefill = (int) all.stream().filter(i -> i.counts(g, InstanceRole.PREFILL)).count();
    w.currentDecode = (int) all.stream().filter(i -> i.counts(g, InstanceRole.DECODE)).count();
    var cap = RoleSizing.capacities(g, all, s.defaultCapacity());
    Policy.Slo slo = policy.sloOf(g);
    w.prefill =
        RoleSizing.prefill(forecast, observed, cap.prefill(), w.currentPrefill, slo, s, why);
    double running =
        all.stream()
            .filter(i -> i.serves(g, InstanceRole.DECODE))
            .mapToInt(InstanceState::running)
            .average()
            .orElse(0);
    w.decode = RoleSizing.decode(forecast, observed, cap, w.currentDecode, running, slo, s, why);
    w.targetPrefill = target(w, InstanceRole.PREFILL, w.prefill, w.currentPrefill, s, why);
    w.targetDecode = target(w, InstanceRole.DECODE, w.decode, w.currentDecode, s, why);
    w.afterPrefill = w.currentPrefill;
    w.afterDecode = w.currentDecode;
    why.add(
        String.format(
            "%s: forecast %s; prefill need %.2f (%.0f tok/s × corr %.2f × util %.2f) → %d, now %d;"
                + " decode need %.2f (%.0f tok/s × corr %.2f × util %.2f) → %d, now %d",
            g,
            forecast,
            w.prefill.need(),
            w.prefill.capacityPerInstance(),
            w.prefill.correction(),
            w.prefill.utilization(),
            w.targetPrefill,
            w.currentPrefill,
            w.decode.need(),
            w.decode.capacityPerInstance(),
            w.decode.correction(),
            w.decode.utilization(),
            w.targetDecode,
            w.currentDecode));
    return w;
  }

  /**
   * The count wanted for one role: the requirement within bounds (at least one while traffic
   * flows); below the current count only when the smaller count keeps the hysteresis band free.
   */
  private static int target(
      GroupWork w,
      InstanceRole role,
      Sizing sizing,
      int current,
      PlannerSettings s,
      List<String> why) {
    Policy.RoleBounds b = role == InstanceRole.PREFILL ? w.bounds.prefill() : w.bounds.decode();
    int lo = w.lowest(role);
    int wanted = Math.clamp(sizing.required(), lo, b.max());
    if (wanted >= current) {
      return wanted;
    }
    int keep = (int) Math.ceil(sizing.need() / (1 - s.hysteresisBand()) - 1e-9);
    int target = Math.clamp(Math.min(current, Math.max(wanted, keep)), lo, b.max());
    if (target > wanted) {
      why.add(
          String.format(
              "%s: %s stays at %d, not %d: %d would run at %.0f%% of its usable capacity, above the"
                  + " %.0f%% hysteresis line",
              w.name,
              role.wireName(),
              target,
              wanted,
              target - 1,
              100 * sizing.need() / Math.max(1, target - 1),
              100 * (1 - s.hysteresisBand())));
    }
    return target;
  }

  /**
   * Raises targets until all groups use {@code budget.minInstances}. A spare instance first goes
   * back to a role whose target fell below its current count (keeping it costs no action), then to
   * the role with the highest forecast load per instance (ties: the larger need), within the role's
   * bounds. So a fixed budget never scales, and a role only gives up an instance when another
   * role's target rose past its own count: what the hysteresis band keeps steady stays steady.
   */
  private static void fillBudget(List<GroupWork> work, Input in, List<String> why) {
    int available = in.policy().budget().minInstances() - unplanned(in);
    int total = work.stream().mapToInt(w -> w.targetPrefill + w.targetDecode).sum();
    int added = 0;
    while (total < available) {
      GroupWork grow = null;
      InstanceRole growRole = null;
      double[] best = null;
      for (GroupWork w : work) {
        for (InstanceRole r : new InstanceRole[] {InstanceRole.PREFILL, InstanceRole.DECODE}) {
          boolean prefill = r == InstanceRole.PREFILL;
          int t = prefill ? w.targetPrefill : w.targetDecode;
          int current = prefill ? w.currentPrefill : w.currentDecode;
          Policy.RoleBounds b = prefill ? w.bounds.prefill() : w.bounds.decode();
          double need = (prefill ? w.prefill : w.decode).need();
          double[] score = {t < current ? 1 : 0, need / Math.max(t, 1), need};
          if (t < b.max() && (best == null || Arrays.compare(score, best) > 0)) {
            best = score;
            grow = w;
            growRole = r;
          }
        }
      }
      if (grow == null) {
        why.add(
            String.format(
                "budget: every role is at its max; %d of the %d kept instances unused",
                available - total, available));
        break;
      }
      if (growRole == InstanceRole.PREFILL) {
        grow.targetPrefill++;
      } else {
        grow.targetDecode++;
      }
      total++;
      added++;
    }
    if (added > 0) {
      why.add(
          String.format(
              "budget: %d spare instance(s) of the %d kept (minInstances) go to the busiest roles:"
                  + " %s",
              added,
              available,
              String.join(
                  ", ",
                  work.stream()
                      .map(w -> w.name + " " + w.targetPrefill + ":" + w.targetDecode)
                      .toList())));
    }
  }

  /** Colocated ({@code BOTH}) instances still running: they use the budget but are not planned. */
  private static int unplanned(Input in) {
    return (int)
        in.instances().stream()
            .filter(i -> i.role() == InstanceRole.BOTH && i.phase() != InstanceState.Phase.STOPPING)
            .count();
  }

  /**
   * Cuts targets until all groups fit in the budget, each cut where the role keeps the most of its
   * need covered after it (largest {@code (target - 1) / need}), never below a role's floor: so the
   * worst-covered role after all cuts is as well covered as the budget allows. (Cutting where
   * {@code target / need} was largest took a 3-instance prefill need of 2.39 down to 2, at 120% of
   * its usable capacity, rather than a decode 6 of 5.29 to 5, at 106%; 20 s later the planner
   * flipped it back, draining 33 streams while two prefill instances refused prompts.)
   */
  private static void fitBudget(List<GroupWork> work, Input in, List<String> why) {
    int available = in.policy().budget().maxInstances() - unplanned(in);
    int total = work.stream().mapToInt(w -> w.targetPrefill + w.targetDecode).sum();
    while (total > available) {
      GroupWork cut = null;
      InstanceRole cutRole = null;
      double bestCoverage = -1;
      for (GroupWork w : work) {
        for (InstanceRole r : new InstanceRole[] {InstanceRole.PREFILL, InstanceRole.DECODE}) {
          int t = r == InstanceRole.PREFILL ? w.targetPrefill : w.targetDecode;
          double need = (r == InstanceRole.PREFILL ? w.prefill : w.decode).need();
          double coverageAfter = (t - 1) / Math.max(need, 1e-9);
          if (t > w.lowest(r) && coverageAfter > bestCoverage) {
            bestCoverage = coverageAfter;
            cut = w;
            cutRole = r;
          }
        }
      }
      if (cut == null) {
        why.add("budget: the role floors alone need " + total + " of " + available + " instances");
        return;
      }
      if (cutRole == InstanceRole.PREFILL) {
        cut.targetPrefill--;
      } else {
        cut.targetDecode--;
      }
      total--;
      why.add(
          String.format(
              "budget: %s %s cut to %d to fit %d instances (SLO at risk)",
              cut.name,
              cutRole.wireName(),
              cutRole == InstanceRole.PREFILL ? cut.targetPrefill : cut.targetDecode,
              available));
    }
  }
}
