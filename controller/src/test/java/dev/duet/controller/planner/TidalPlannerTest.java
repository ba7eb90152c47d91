package dev.duet.controller.planner;

import static dev.duet.controller.registry.InstanceRole.DECODE;
import static dev.duet.controller.registry.InstanceRole.PREFILL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyParser;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TidalPlannerTest {
  static final String G = Policy.DEFAULT_GROUP;

  /** Ten seconds of traffic into the tracker: {@code rps} requests a second of the given sizes. */
  static void traffic(LoadTracker t, long from, int rps, int prompt, int output) {
    for (int k = 0; k < 10 * rps; k++) {
      long at = from + k * 1000L / rps;
      t.recordArrival(G, at, prompt);
      t.recordOutputTokens(G, at, output);
    }
  }

  @Test
  void roundsTurnTrackedTrafficIntoForecastsAndDecisions() throws Exception {
    var f = new PlannerFixture().add(G, PREFILL, 3).add(G, DECODE, 2);
    var tracker = new LoadTracker(Duration.ofSeconds(10));
    var planner = new TidalPlanner(tracker, f.policy);
    assertThat(planner.last()).isEmpty();
    Decision d = null;
    for (int r = 0; r < 6; r++) { // output-heavy traffic: 2 req/s, 200 prompt, 300 output tokens
      traffic(tracker, f.now - 10_000, 2, 200, 300);
      d = planner.round(f.now, f.instances);
      f.apply(d);
      f.now += 10_000;
    }
    assertThat(d.group(G).forecast().outputTokensPerS()).isCloseTo(600, within(1.0));
    assertThat(f.count(G, PREFILL)).isEqualTo(1);
    assertThat(f.count(G, DECODE)).isEqualTo(4);
    assertThat(planner.last()).contains(d);

    // a dry run under a tighter budget shows cuts, and changes nothing
    Policy tight =
        PolicyParser.parse(PlannerFixture.BASE.replace("maxInstances: 6", "maxInstances: 3"));
    Decision dry = planner.dryRun(tight, f.now, f.instances);
    assertThat(dry.group(G).targetDecode()).isEqualTo(2);
    assertThat(dry.why()).anyMatch(w -> w.startsWith("budget:"));
    assertThat(planner.last()).contains(d);
  }

  @Test
  void aNewPredictorSettingStartsTheForecastAfresh() throws Exception {
    var f = new PlannerFixture().add(G, PREFILL, 1).add(G, DECODE, 1);
    var tracker = new LoadTracker(Duration.ofSeconds(10));
    var planner = new TidalPlanner(tracker, f.policy);
    traffic(tracker, f.now - 10_000, 2, 200, 300);
    assertThat(planner.round(f.now, f.instances).group(G).forecast().arrivalsPerS()).isPositive();

    planner.policyChanged(
        PolicyParser.parse(
            PlannerFixture.BASE.replace("budget: {maxInstances: 6}", "budget: {maxInstances: 7}")));
    assertThat(planner.dryRun(f.policy, f.now, f.instances).group(G).forecast().arrivalsPerS())
        .as("same predictor settings: kept")
        .isPositive();

    planner.policyChanged(
        PolicyParser.parse(
            PlannerFixture.BASE.replace("periodSeconds: 600", "periodSeconds: 1200")));
    assertThat(planner.dryRun(f.policy, f.now, f.instances).group(G).forecast())
        .isEqualTo(LoadRates.ZERO);
  }
}
