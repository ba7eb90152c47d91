package dev.duet.controller.policy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.duet.controller.policy.PlannerSettings.Capacity;
import dev.duet.controller.policy.PlannerSettings.Cooldowns;
import dev.duet.controller.policy.PlannerSettings.Correction;
import dev.duet.controller.policy.PlannerSettings.Predictor;
import dev.duet.controller.policy.Policy.Admission;
import dev.duet.controller.policy.Policy.Budget;
import dev.duet.controller.policy.Policy.Rebalancer;
import dev.duet.controller.policy.Policy.RoleBounds;
import dev.duet.controller.policy.Policy.Roles;
import dev.duet.controller.policy.Policy.Slo;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads a policy from YAML and validates it, collecting every error (path, value, reason) rather
 * than stopping at the first; unknown keys are errors. Absent keys take the defaults of {@link
 * Policy#defaults()}, so an empty document is valid. Stateless and thread-safe.
 */
public final class PolicyParser {
  private static final YAMLMapper YAML =
      YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  private static final double ANY = Double.MAX_VALUE;

  private PolicyParser() {}

  /** The policy {@code yaml} describes, or every reason it is invalid. */
  public static Policy parse(String yaml) throws InvalidPolicyException {
    var errors = new ArrayList<PolicyError>();
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (JacksonException e) {
      var at = e.getLocation();
      String where = at == null ? "?" : "line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new InvalidPolicyException(
          List.of(
              new PolicyError("<document>", where, "not valid YAML: " + e.getOriginalMessage())));
    }
    Policy policy = read(new YamlSection(root, "", errors, ROOT_KEYS), errors);
    if (!errors.isEmpty()) {
      throw new InvalidPolicyException(errors);
    }
    return policy;
  }

  private static final String[] ROOT_KEYS = {
    "slo", "roles", "budget", "planner", "admission", "rebalancer", "groups"
  };

  private static Policy read(YamlSection root, List<PolicyError> errors) {
    Slo slo = slo(root.section("slo", "ttftMs", "tpotMs", "attainment"), Slo.DEFAULTS);
    Roles roles = roles(root.section("roles", "prefill", "decode"), Roles.DEFAULTS);
    YamlSection b = root.section("budget", "minInstances", "maxInstances");
    int maxInstances =
        b.integer("maxInstances", Budget.DEFAULTS.maxInstances(), 2, Integer.MAX_VALUE);
    int minInstances = b.integer("minInstances", Budget.DEFAULTS.minInstances(), 0, maxInstances);
    var budget = new Budget(Math.min(minInstances, maxInstances), maxInstances);
    PlannerSettings planner =
        planner(
            root.section(
                "planner",
                "intervalSeconds",
                "maxUtilization",
                "predictor",
                "hysteresis",
                "cooldowns",
                "maxFlipsPerInterval",
                "correction",
                "defaultCapacity"));
    YamlSection a = root.section("admission", "ttftBudgetMs", "tpotBatchCap");
    var admission =
        new Admission(
            a.number("ttftBudgetMs", slo.ttftMs(), 0, true, ANY), a.bool("tpotBatchCap", false));
    Rebalancer rebalancer =
        rebalancer(
            root.section(
                "rebalancer", "enabled", "periodMs", "freeness", "maxConcurrentMigrations"));
    List<ScenarioGroup> groups = groups(root, roles, slo, errors);

    int mins = roles.prefill().min() + roles.decode().min();
    for (ScenarioGroup g : groups) {
      mins += g.roles().prefill().min() + g.roles().decode().min();
    }
    if (mins > budget.maxInstances()) {
      b.error(
          "maxInstances",
          Integer.toString(budget.maxInstances()),
          "must be >= the sum of every group's prefill and decode minimums (" + mins + ")");
    }
    return new Policy(slo, roles, budget, planner, admission, rebalancer, groups);
  }

  private static Slo slo(YamlSection s, Slo def) {
    return new Slo(
        s.number("ttftMs", def.ttftMs(), 0, true, ANY),
        s.number("tpotMs", def.tpotMs(), 0, true, ANY),
        s.number("attainment", def.attainment(), 0, true, 1));
  }

  private static Roles roles(YamlSection s, Roles def) {
    return new Roles(
        bounds(s.section("prefill", "min", "max"), def.prefill()),
        bounds(s.section("decode", "min", "max"), def.decode()));
  }

  private static RoleBounds bounds(YamlSection s, RoleBounds def) {
    int min = s.integer("min", def.min(), 0, Integer.MAX_VALUE);
    int max = s.integer("max", Math.max(def.max(), min), 1, Integer.MAX_VALUE);
    if (max < min) {
      s.error("max", Integer.toString(max), "must be >= min (" + min + ")");
      max = min;
    }
    return new RoleBounds(min, Math.max(max, 1));
  }

  private static PlannerSettings planner(YamlSection s) {
    PlannerSettings def = PlannerSettings.DEFAULTS;
    int interval = s.integer("intervalSeconds", def.intervalSeconds(), 1, Integer.MAX_VALUE);
    double util = s.number("maxUtilization", def.maxUtilization(), 0, true, 1);
    if (util >= 1) {
      s.error("maxUtilization", s.shown("maxUtilization"), "must be < 1");
      util = def.maxUtilization();
    }
    YamlSection p = s.section("predictor", "periodSeconds", "buckets", "smoothing", "trendWindow");
    Predictor pd = def.predictor();
    long period = p.whole("periodSeconds", pd.periodSeconds(), 1, Long.MAX_VALUE / 1000);
    if (period < 2L * interval) {
      p.error(
          "periodSeconds",
          Long.toString(period),
          "must be >= 2 planning intervals (" + 2L * interval + ")");
      period = 2L * interval;
    }
    var predictor =
        new Predictor(
            period,
            p.integer("buckets", pd.buckets(), 2, Integer.MAX_VALUE),
            p.number("smoothing", pd.smoothing(), 0, true, 1),
            p.integer("trendWindow", pd.trendWindow(), 2, Integer.MAX_VALUE));
    YamlSection h = s.section("hysteresis", "band");
    double band = h.number("band", def.hysteresisBand(), 0, false, 1);
    if (band >= 1) {
      h.error("band", h.shown("band"), "must be < 1");
      band = def.hysteresisBand();
    }
    YamlSection c = s.section("cooldowns", "flipSeconds", "scaleSeconds");
    var cooldowns =
        new Cooldowns(
            c.whole("flipSeconds", def.cooldowns().flipSeconds(), 0, Long.MAX_VALUE / 1000),
            c.whole("scaleSeconds", def.cooldowns().scaleSeconds(), 0, Long.MAX_VALUE / 1000));
    int flips = s.integer("maxFlipsPerInterval", def.maxFlipsPerInterval(), 1, Integer.MAX_VALUE);
    YamlSection k = s.section("correction", "min", "max", "minSamples");
    var correction =
        new Correction(
            k.number("min", def.correction().min(), 0, true, 1),
            k.number("max", def.correction().max(), 1, false, ANY),
            k.integer("minSamples", def.correction().minSamples(), 1, Integer.MAX_VALUE));
    YamlSection d =
        s.section("defaultCapacity", "prefillTokensPerS", "decodeTokensPerS", "maxBatch");
    Capacity dc = def.defaultCapacity();
    var capacity =
        new Capacity(
            d.number("prefillTokensPerS", dc.prefillTokensPerS(), 0, true, ANY),
            d.number("decodeTokensPerS", dc.decodeTokensPerS(), 0, true, ANY),
            d.integer("maxBatch", dc.maxBatch(), 1, Integer.MAX_VALUE));
    return new PlannerSettings(
        interval, util, predictor, band, cooldowns, flips, correction, capacity);
  }

  private static Rebalancer rebalancer(YamlSection s) {
    Rebalancer def = Rebalancer.DEFAULTS;
    YamlSection f = s.section("freeness", "high", "low");
    double high = f.number("high", def.highFreeness(), 0, true, Double.MAX_VALUE);
    double low = f.number("low", Math.min(def.lowFreeness(), high / 2), 0, false, Double.MAX_VALUE);
    if (low >= high) {
      f.error("low", f.shown("low"), "must be < high (" + high + ")");
      low = high / 2;
    }
    return new Rebalancer(
        s.bool("enabled", def.enabled()),
        s.whole("periodMs", def.periodMs(), 1, Long.MAX_VALUE),
        high,
        low,
        s.integer("maxConcurrentMigrations", def.maxConcurrentMigrations(), 1, Integer.MAX_VALUE));
  }

  private static List<ScenarioGroup> groups(
      YamlSection root, Roles roles, Slo slo, List<PolicyError> errors) {
    var groups = new ArrayList<ScenarioGroup>();
    var names = new ArrayList<String>();
    List<JsonNode> items = root.list("groups");
    for (int i = 0; i < items.size(); i++) {
      String path = "groups[" + i + "]";
      var g = new YamlSection(items.get(i), path, errors, "name", "match", "roles", "slo");
      if (!g.present()) {
        if (items.get(i) == null || items.get(i).isNull()) {
          errors.add(new PolicyError(path, "null", "must be a mapping"));
        }
        continue;
      }
      String name = g.text("name").orElse(null);
      if (name == null && !g.has("name")) {
        g.error("name", "<missing>", "is required");
      } else if (name != null && name.equals(Policy.DEFAULT_GROUP)) {
        g.error("name", name, "is reserved for requests no group matches");
        name = null;
      } else if (name != null && names.contains(name)) {
        g.error("name", name, "duplicates groups[" + names.indexOf(name) + "].name");
        name = null;
      }
      names.add(name);
      ScenarioGroup.Match match = match(g.section("match", "model", "header", "promptTokens"));
      Roles groupRoles = roles(g.section("roles", "prefill", "decode"), roles);
      Slo groupSlo = slo(g.section("slo", "ttftMs", "tpotMs", "attainment"), slo);
      if (name != null && match != null) {
        groups.add(new ScenarioGroup(name, match, groupRoles, groupSlo));
      }
    }
    return groups;
  }

  private static ScenarioGroup.Match match(YamlSection m) {
    var model = m.text("model");
    YamlSection h = m.section("header", "name", "value");
    var header = Optional.<ScenarioGroup.HeaderMatch>empty();
    if (h.present()) {
      var name = h.text("name");
      var value = h.text("value");
      if (name.isEmpty() && !h.has("name")) {
        h.error("name", "<missing>", "is required");
      }
      if (value.isEmpty() && !h.has("value")) {
        h.error("value", "<missing>", "is required");
      }
      if (name.isPresent() && value.isPresent()) {
        header = Optional.of(new ScenarioGroup.HeaderMatch(name.get(), value.get()));
      }
    }
    YamlSection t = m.section("promptTokens", "min", "max");
    var tokens = Optional.<ScenarioGroup.TokenRange>empty();
    if (t.present()) {
      long min = t.whole("min", 0, 0, Long.MAX_VALUE);
      long max = t.whole("max", Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE);
      if (max <= min) {
        t.error("max", t.shown("max"), "must be > min (" + min + ")");
      } else {
        tokens = Optional.of(new ScenarioGroup.TokenRange(min, max));
      }
    }
    if (!m.present()) {
      m.errorHere("<missing>", "a group needs a match (model, header or promptTokens)");
      return null;
    }
    if (model.isEmpty() && header.isEmpty() && tokens.isEmpty()) {
      if (!m.has("model") && !h.present() && !t.present()) {
        m.errorHere("{}", "needs at least one of model, header, promptTokens");
      }
      return null;
    }
    return new ScenarioGroup.Match(model, header, tokens);
  }
}
