package dev.duet.controller.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyParserTest {

  static final Path EXAMPLE = Path.of("..", "docs", "policy.example.yaml");

  private static List<String> errorsOf(String yaml) {
    var e = catchThrowableOfType(InvalidPolicyException.class, () -> PolicyParser.parse(yaml));
    assertThat(e).as("expected %s to be refused", yaml).isNotNull();
    return e.errors().stream().map(PolicyError::toString).toList();
  }

  @Test
  void anEmptyDocumentGivesTheDocumentedDefaults() throws Exception {
    assertThat(PolicyParser.parse("")).isEqualTo(Policy.defaults());
    assertThat(PolicyParser.parse("# nothing but a comment\n")).isEqualTo(Policy.defaults());
    Policy p = Policy.defaults();
    assertThat(p.slo().ttftMs()).isEqualTo(2000);
    assertThat(p.admission().ttftBudgetMs()).isEqualTo(p.slo().ttftMs());
    assertThat(p.groupNames()).containsExactly(Policy.DEFAULT_GROUP);
  }

  @Test
  void theExampleFileIsValidAndSaysWhatTheDefaultsAre() throws Exception {
    Policy p = PolicyParser.parse(Files.readString(EXAMPLE));
    Policy d = Policy.defaults();
    assertThat(p.slo()).isEqualTo(d.slo());
    assertThat(p.roles()).isEqualTo(d.roles());
    assertThat(p.budget()).isEqualTo(d.budget());
    assertThat(p.planner()).isEqualTo(d.planner());
    assertThat(p.admission()).isEqualTo(d.admission());
    assertThat(p.rebalancer()).isEqualTo(d.rebalancer());
    assertThat(p.groupNames()).containsExactly("long-context", "batch", "default");
    assertThat(p.sloOf("long-context").ttftMs()).isEqualTo(8000);
    assertThat(p.sloOf("long-context").tpotMs()).as("inherited").isEqualTo(100);
    assertThat(p.rolesOf("batch").prefill().min()).isZero();
    assertThat(p.rolesOf("default")).isEqualTo(d.roles());
  }

  @Test
  void admissionBudgetDefaultsToTheTtftSlo() throws Exception {
    assertThat(PolicyParser.parse("slo: {ttftMs: 750}").admission().ttftBudgetMs()).isEqualTo(750);
  }

  @Test
  void theTpotBatchCapIsOffUnlessTheFileTurnsItOn() throws Exception {
    assertThat(Policy.defaults().admission().tpotBatchCap()).isFalse();
    assertThat(PolicyParser.parse("admission: {ttftBudgetMs: 500}").admission().tpotBatchCap())
        .isFalse();
    assertThat(PolicyParser.parse("admission: {tpotBatchCap: true}").admission().tpotBatchCap())
        .isTrue();
    assertThatThrownBy(() -> PolicyParser.parse("admission: {tpotBatchCap: sometimes}"))
        .isInstanceOf(InvalidPolicyException.class)
        .hasMessageContaining("admission.tpotBatchCap");
  }

  @Test
  void anErrorGivesThePathTheValueAndTheReason() {
    String yaml =
        """
        groups:
          - name: a
            match: {model: m}
          - name: b
            match:
              promptTokens: {min: 0, max: -3}
        """;
    assertThat(errorsOf(yaml))
        .containsExactly("groups[1].match.promptTokens.max: -3: must be > min (0)");
  }

  @Test
  void everyErrorIsReportedAtOnce() {
    String yaml =
        """
        slo: {ttftMs: -1, tpotMs: fast, attainment: 1.5}
        roles:
          prefill: {min: 3, max: 2}
        planner:
          maxUtilization: 1.0
          predictor: {buckets: 1}
          hysteresis: {band: 1}
        rebalancer:
          freeness: {high: 0.2, low: 0.3}
        groups:
          - name: default
            match: {model: x}
          - match: {}
        """;
    assertThat(errorsOf(yaml))
        .containsExactlyInAnyOrder(
            "slo.ttftMs: -1: must be > 0",
            "slo.tpotMs: fast: must be a number",
            "slo.attainment: 1.5: must be in (0, 1]",
            "roles.prefill.max: 2: must be >= min (3)",
            "planner.maxUtilization: 1.0: must be < 1",
            "planner.predictor.buckets: 1: must be >= 2",
            "planner.hysteresis.band: 1: must be < 1",
            "rebalancer.freeness.low: 0.3: must be < high (0.2)",
            "groups[0].name: default: is reserved for requests no group matches",
            "groups[1].name: <missing>: is required",
            "groups[1].match: {}: needs at least one of model, header, promptTokens");
  }

  @Test
  void unknownKeysAreRefusedWithTheirPath() {
    String yaml =
        """
        slo: {ttftMS: 10}
        planner:
          cooldowns: {flip: 5}
        groups:
          - name: g
            match: {model: m, tenant: t}
        extra: 1
        """;
    assertThat(errorsOf(yaml))
        .containsExactlyInAnyOrder(
            "slo.ttftMS: 10: unknown key (known: attainment, tpotMs, ttftMs)",
            "planner.cooldowns.flip: 5: unknown key (known: flipSeconds, scaleSeconds)",
            "groups[0].match.tenant: t: unknown key (known: header, model, promptTokens)",
            "extra: 1: unknown key (known: admission, budget, groups, planner, rebalancer, roles,"
                + " slo)");
  }

  @Test
  void wrongShapesAreNamed() {
    assertThat(errorsOf("slo: 5\ngroups: {name: x}\n"))
        .containsExactlyInAnyOrder(
            "slo: 5: must be a mapping", "groups: {\"name\":\"x\"}: must be a list");
    assertThat(errorsOf("- a\n- b\n"))
        .containsExactly("<document>: [\"a\",\"b\"]: must be a mapping");
  }

  @Test
  void brokenYamlAndDuplicateKeysSayWhere() {
    assertThat(errorsOf("slo: {ttftMs: 1\n"))
        .singleElement()
        .asString()
        .startsWith("<document>: line");
    assertThat(errorsOf("slo:\n  ttftMs: 1\n  ttftMs: 2\n"))
        .singleElement()
        .asString()
        .contains("Duplicate field 'ttftMs'");
  }

  @Test
  void groupsMustBeUniqueAndFitTheBudget() {
    String yaml =
        """
        budget: {maxInstances: 3}
        groups:
          - {name: a, match: {model: m}}
          - {name: a, match: {model: n}}
        """;
    assertThat(errorsOf(yaml))
        .containsExactlyInAnyOrder(
            "groups[1].name: a: duplicates groups[0].name",
            "budget.maxInstances: 3: must be >= the sum of every group's prefill and decode"
                + " minimums (4)");
  }

  @Test
  void theBudgetsFloorCannotPassItsCeiling() throws Exception {
    assertThat(errorsOf("budget: {minInstances: 9, maxInstances: 8}"))
        .containsExactly("budget.minInstances: 9: must be in [0, 8]");
    assertThat(PolicyParser.parse("budget: {minInstances: 8, maxInstances: 8}").budget().fixed())
        .isTrue();
    assertThat(Policy.defaults().budget().fixed()).isFalse();
  }

  @Test
  void thePredictorPeriodMustSpanTwoIntervals() {
    assertThat(errorsOf("planner: {intervalSeconds: 30, predictor: {periodSeconds: 45}}"))
        .containsExactly(
            "planner.predictor.periodSeconds: 45: must be >= 2 planning intervals (60)");
  }

  @Test
  void requestsGoToTheFirstMatchingGroupElseDefault() throws Exception {
    var c = new ScenarioClassifier(PolicyParser.parse(Files.readString(EXAMPLE)));
    assertThat(c.classify("m", Map.of(), 5000)).isEqualTo("long-context");
    assertThat(c.classify("m", Map.of("x-duet-scenario", "batch"), 100)).isEqualTo("batch");
    assertThat(c.classify("m", Map.of("X-Duet-Scenario", "chat"), 100)).isEqualTo("default");
    assertThat(c.classify("m", Map.of(), 4095)).isEqualTo("default");
  }
}
