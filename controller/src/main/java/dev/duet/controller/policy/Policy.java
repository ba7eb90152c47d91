package dev.duet.controller.policy;

import dev.duet.controller.registry.InstanceDescriptor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The tidal planner's policy: SLOs, role bounds, the instance budget, planner settings, admission,
 * the rebalancer and the scenario groups. Immutable; built by {@link PolicyParser} from YAML (see
 * {@code docs/policy.example.yaml}), whose every key has a default, so {@link #defaults()} is what
 * an empty file means.
 *
 * <p>The top-level {@code roles} and {@code slo} are those of the implicit {@link #DEFAULT_GROUP}
 * (traffic no group matches) and the defaults of groups that give none.
 */
public record Policy(
    Slo slo,
    Roles roles,
    Budget budget,
    PlannerSettings planner,
    Admission admission,
    Rebalancer rebalancer,
    List<ScenarioGroup> groups) {

  /** The group of requests no configured group matches. */
  public static final String DEFAULT_GROUP = InstanceDescriptor.DEFAULT_GROUP;

  public Policy {
    Objects.requireNonNull(slo, "slo");
    Objects.requireNonNull(roles, "roles");
    Objects.requireNonNull(budget, "budget");
    Objects.requireNonNull(planner, "planner");
    Objects.requireNonNull(admission, "admission");
    Objects.requireNonNull(rebalancer, "rebalancer");
    groups = List.copyOf(groups);
    var names = new HashSet<String>();
    for (ScenarioGroup g : groups) {
      if (g.name().equals(DEFAULT_GROUP) || !names.add(g.name())) {
        throw new IllegalArgumentException("group name must be unique and not 'default': " + g);
      }
    }
  }

  /** The policy an empty file gives. */
  public static Policy defaults() {
    return new Policy(
        Slo.DEFAULTS,
        Roles.DEFAULTS,
        Budget.DEFAULTS,
        PlannerSettings.DEFAULTS,
        new Admission(Slo.DEFAULTS.ttftMs()),
        Rebalancer.DEFAULTS,
        List.of());
  }

  /** Group names in planning order: the configured groups, then {@link #DEFAULT_GROUP}. */
  public List<String> groupNames() {
    var names = new ArrayList<String>();
    groups.forEach(g -> names.add(g.name()));
    names.add(DEFAULT_GROUP);
    return List.copyOf(names);
  }

  /** The configured group of this name, empty for {@link #DEFAULT_GROUP} or an unknown name. */
  public Optional<ScenarioGroup> group(String name) {
    return groups.stream().filter(g -> g.name().equals(name)).findFirst();
  }

  /** The SLO of a group: its override, else the top-level one. */
  public Slo sloOf(String group) {
    return group(group).map(ScenarioGroup::slo).orElse(slo);
  }

  /** The role bounds of a group: its own, else the top-level ones. */
  public Roles rolesOf(String group) {
    return group(group).map(ScenarioGroup::roles).orElse(roles);
  }

  /**
   * Latency objectives.
   *
   * @param ttftMs time to first token, milliseconds
   * @param tpotMs time per output token after the first, milliseconds
   * @param attainment fraction of requests that must meet both, in (0, 1]; the planner reads
   *     observed latencies at this percentile
   */
  public record Slo(double ttftMs, double tpotMs, double attainment) {
    public static final Slo DEFAULTS = new Slo(2000, 100, 0.9);

    public Slo {
      if (!(ttftMs > 0) || !(tpotMs > 0) || !(attainment > 0 && attainment <= 1)) {
        throw new IllegalArgumentException(
            "slo needs ttftMs > 0, tpotMs > 0, attainment in (0, 1]; got "
                + ttftMs
                + ", "
                + tpotMs
                + ", "
                + attainment);
      }
    }
  }

  /** How many instances a role may have: {@code 0 <= min <= max}, {@code max >= 1}. */
  public record RoleBounds(int min, int max) {
    public RoleBounds {
      if (min < 0 || max < 1 || max < min) {
        throw new IllegalArgumentException(
            "role bounds need 0 <= min <= max, max >= 1; got min " + min + ", max " + max);
      }
    }

    public int clamp(int n) {
      return Math.clamp(n, min, max);
    }
  }

  /** Bounds per role. */
  public record Roles(RoleBounds prefill, RoleBounds decode) {
    public static final Roles DEFAULTS = new Roles(new RoleBounds(1, 16), new RoleBounds(1, 16));

    public Roles {
      Objects.requireNonNull(prefill, "prefill");
      Objects.requireNonNull(decode, "decode");
    }
  }

  /**
   * How many worker instances the cluster runs. With {@code minInstances == maxInstances} the
   * budget is fixed: the planner never scales and meets the tide by flipping roles alone.
   *
   * @param minInstances instances the planner keeps even when the forecast needs fewer (it hands
   *     the spare ones to the busiest roles instead of stopping them), {@code 0 <= min <= max}
   * @param maxInstances worker instances the whole cluster may run, all groups and roles
   */
  public record Budget(int minInstances, int maxInstances) {
    public static final Budget DEFAULTS = new Budget(0, 8);

    public Budget {
      if (maxInstances < 2 || minInstances < 0 || minInstances > maxInstances) {
        throw new IllegalArgumentException(
            "budget needs maxInstances >= 2 and 0 <= minInstances <= maxInstances; got "
                + minInstances
                + ", "
                + maxInstances);
      }
    }

    /** Whether the instance count is pinned, so that only flips change the ratio. */
    public boolean fixed() {
      return minInstances == maxInstances;
    }
  }

  /**
   * @param ttftBudgetMs a prefill instance refuses a request it cannot start within this
   * @param tpotBatchCap whether a request is routed only to a decode instance running fewer streams
   *     than its TPOT SLO allows at the instance's measured pass time (else it waits for room as
   *     for KV), so that streams admitted keep the SLO instead of all of them missing it
   */
  public record Admission(double ttftBudgetMs, boolean tpotBatchCap) {
    public Admission {
      if (!(ttftBudgetMs > 0)) {
        throw new IllegalArgumentException("ttftBudgetMs must be > 0, got " + ttftBudgetMs);
      }
    }

    /**
     * Admission with the TPOT batch cap off, the default: on, a decode instance's fit read noisy on
     * a loaded CPU capped it below a handful of streams now and then (RebalanceAndDrainTest's 503).
     */
    public Admission(double ttftBudgetMs) {
      this(ttftBudgetMs, false);
    }
  }

  /**
   * Decode-to-decode rebalancing by live migration.
   *
   * @param enabled whether it runs
   * @param periodMs how often it looks, milliseconds
   * @param highFreeness an instance whose freeness (Llumnix: KV blocks free after its queue's
   *     demand, per running request) is above this may receive migrations, &gt; 0
   * @param lowFreeness an instance whose freeness is below this sheds requests, in [0, high)
   * @param maxConcurrentMigrations migrations in flight at once, cluster-wide
   */
  public record Rebalancer(
      boolean enabled,
      long periodMs,
      double highFreeness,
      double lowFreeness,
      int maxConcurrentMigrations) {
    public static final Rebalancer DEFAULTS = new Rebalancer(true, 2000, 16, 4, 2);

    public Rebalancer {
      if (periodMs < 1
          || !(highFreeness > 0)
          || !(lowFreeness >= 0 && lowFreeness < highFreeness)
          || maxConcurrentMigrations < 1) {
        throw new IllegalArgumentException(
            "rebalancer needs periodMs >= 1, 0 <= low < high, maxConcurrentMigrations >= 1;"
                + " got "
                + periodMs
                + ", "
                + lowFreeness
                + ", "
                + highFreeness
                + ", "
                + maxConcurrentMigrations);
      }
    }
  }
}
