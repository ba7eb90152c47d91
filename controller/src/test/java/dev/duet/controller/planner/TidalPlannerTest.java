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
  void aRisingTideIsSizedForItsTopOverTheHorizonAndAFallingOneForTheIntervalsMiddle()
      throws Exception {
    var f = new PlannerFixture().add(G, PREFILL, 1).add(G, DECODE, 1);
    var tracker = new LoadTracker(Duration.ofSeconds(10));
    var planner = new TidalPlanner(tracker, f.policy);
    Decision d = null;
    for (int rps : new int[] {2, 4, 6, 8, 10}) { // +2 req/s every 10 s interval
      traffic(tracker, f.now - 10_000, rps, 200, 100);
      d = planner.round(f.now, f.instances);
      f.now += 10_000;
    }
    // observed mid-window (5 s ago) 10 req/s, rising 0.2 req/s per second: the middle of the
    // coming interval is 10 s past that (12 req/s), the horizon's end 20 s (14 req/s)
    assertThat(d.group(G).forecast().arrivalsPerS()).isCloseTo(14, within(0.5));

    var falling = new LoadTracker(Duration.ofSeconds(10));
    planner = new TidalPlanner(falling, f.policy);
    for (int rps : new int[] {12, 10, 8, 6, 4}) {
      traffic(falling, f.now - 10_000, rps, 200, 100);
      d = planner.round(f.now, f.instances);
      f.now += 10_000;
    }
    // falling by 0.2 req/s per second from 4 req/s 5 s ago: the interval's middle is 10 s on (2)
    assertThat(d.group(G).forecast().arrivalsPerS()).isCloseTo(2, within(0.5));
  }

  @Test
  void aRoleThatComesThroughSlowFlipsIsSizedForItsRateAsFarAheadAsTheFlipsTake() throws Exception {
    var f = new PlannerFixture().add(G, PREFILL, 1).add(G, DECODE, 1);
    var tracker = new LoadTracker(Duration.ofSeconds(10));
    var plain = new TidalPlanner(tracker, f.policy);
    var led = new TidalPlanner(tracker, f.policy);
    led.flipTook(PREFILL, 12_000); // drains: decode → prefill took 12 s
    led.flipTook(DECODE, 30); // finishing a queue: prefill → decode took 30 ms
    Decision a = null;
    Decision b = null;
    for (int rps : new int[] {2, 4, 6, 8, 10}) { // +0.2 req/s a second, 200 prompt, 100 output
      traffic(tracker, f.now - 10_000, rps, 200, 100);
      a = plain.round(f.now, f.instances);
      b = led.round(f.now, f.instances);
      f.now += 10_000;
    }
    // 10 req/s 5 s ago: the horizon's end is 15 s ahead (14 req/s); with 12 s of flips to prefill
    // the prompt rate is read 5 quarter intervals further, 27.5 s ahead (16.5 req/s)
    assertThat(a.group(G).forecast().promptTokensPerS()).isCloseTo(2800, within(100.0));
    assertThat(b.group(G).forecast().promptTokensPerS()).isCloseTo(3300, within(100.0));
    assertThat(b.group(G).forecast().arrivalsPerS()).isCloseTo(16.5, within(0.5));
    // a 30 ms flip to decode moves nothing: the output rate is read to 15 s (14 req/s)
    assertThat(b.group(G).forecast().outputTokensPerS()).isCloseTo(1400, within(50.0));
    assertThat(a.why()).noneMatch(w -> w.startsWith("horizon:"));
    assertThat(b.why().getFirst())
        .isEqualTo(
            "horizon: prompt rates read to 27.5 s ahead, output rates to 15.0 s (flips to prefill"
                + " take 12.0 s here, to decode 0.0 s)");

    // each flip weighs half; a lead is at most 4 intervals (40 s: the prompt rate 55 s ahead)
    led.flipTook(PREFILL, 200_000);
    traffic(tracker, f.now - 10_000, 12, 200, 100);
    Decision c = led.round(f.now, f.instances);
    double rising = c.group(G).forecast().arrivalsPerS();
    assertThat(c.why().getFirst()).startsWith("horizon: prompt rates read to 55.0 s ahead");
    assertThat(c.group(G).forecast().promptTokensPerS()).isCloseTo(200 * rising, within(1.0));
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

  /**
   * A tide in the mix: over each 10-minute period the load swings from prompt-heavy (10 req/s, 2000
   * prompt tok/s, 200 output tok/s: 3 prefill + 2 decode) to output-heavy (2 req/s, 400 and 600
   * tok/s: 1 prefill + 4 decode) and back. Over the third period the planner's counts cover the
   * load's need in nearly every interval, by flips alone, with few flips.
   */
  @Test
  void followsATideInTheMixWithAHandfulOfChangesAPeriod() {
    var f = new PlannerFixture().add(G, PREFILL, 2).add(G, DECODE, 3);
    var tracker = new LoadTracker(Duration.ofSeconds(10));
    var planner = new TidalPlanner(tracker, f.policy);
    long period = 600_000;
    long start = f.now;
    int covered = 0;
    int rounds = 0;
    int flips = 0;
    int scalings = 0;
    for (int r = 0; r < 180; r++) {
      double m = 0.5 + 0.5 * Math.sin(2 * Math.PI * (f.now - start) / period);
      double rps = 2 + 8 * m;
      double output = (600 - 400 * m) / rps;
      for (double at = f.now - 10_000; at < f.now; at += 1000 / rps) {
        tracker.recordArrival(G, (long) at, 200);
        tracker.recordOutputTokens(G, (long) at, Math.round(output));
      }
      Decision d = planner.round(f.now, f.instances);
      f.apply(d);
      if (r >= 120) {
        rounds++;
        flips += PlannerFixture.flips(d).size();
        scalings += PlannerFixture.scalings(d);
        // the load of the coming interval, against what is there once this round's flips are done
        double next = 0.5 + 0.5 * Math.sin(2 * Math.PI * (f.now + 10_000 - start) / period);
        double needPrefill = (400 + 1600 * next) / (1000 * 0.85);
        double needDecode = (600 - 400 * next) / (200 * 0.85);
        if (f.count(G, PREFILL) >= needPrefill && f.count(G, DECODE) >= needDecode) {
          covered++;
        }
      }
      f.now += 10_000;
    }
    // measured: 59 of 60 covered, 2 flips, 4 scalings (the total need moves between 4 and 6)
    assertThat(covered).as("intervals covered").isGreaterThanOrEqualTo(rounds * 9 / 10);
    assertThat(flips).as("flips in one period").isBetween(2, 6);
    assertThat(scalings).as("scalings in one period").isLessThanOrEqualTo(4);
  }
}
