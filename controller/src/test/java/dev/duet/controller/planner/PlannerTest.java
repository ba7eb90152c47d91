package dev.duet.controller.planner;

import static dev.duet.controller.planner.PlannerFixture.OUTPUT_HEAVY;
import static dev.duet.controller.planner.PlannerFixture.PROMPT_HEAVY;
import static dev.duet.controller.planner.PlannerFixture.flips;
import static dev.duet.controller.planner.PlannerFixture.scalings;
import static dev.duet.controller.registry.InstanceRole.DECODE;
import static dev.duet.controller.registry.InstanceRole.PREFILL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.duet.controller.policy.Policy;
import dev.duet.controller.registry.StepTime;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlannerTest {
  static final String G = Policy.DEFAULT_GROUP;

  @Test
  void sizesEachRoleFromTheForecastAndMeasuredCapacity() {
    var f = new PlannerFixture().add(G, PREFILL, 3).add(G, DECODE, 2);
    Decision d = f.plan(Map.of(G, PROMPT_HEAVY));
    GroupPlan p = d.group(G);
    // prefill: 2000 tok/s ÷ (1000 × 0.85) = 2.35; decode: 200 ÷ (200 × 0.85) = 1.18
    assertThat(p.prefill().need()).isCloseTo(2.353, within(0.01));
    assertThat(p.decode().need()).isCloseTo(1.176, within(0.01));
    assertThat(p.targetPrefill()).isEqualTo(3);
    assertThat(p.targetDecode()).isEqualTo(2);
    assertThat(d.actions()).isEmpty();
    assertThat(d.why()).anyMatch(w -> w.startsWith("default: forecast 10.00 req/s"));
  }

  @Test
  void followsAShiftFromPromptHeavyToOutputHeavyLoadWithFlipsAlone() {
    var f = new PlannerFixture().add(G, PREFILL, 3).add(G, DECODE, 2);
    Decision d = f.round(Map.of(G, OUTPUT_HEAVY));
    assertThat(flips(d)).hasSize(2).allMatch(x -> x.from() == PREFILL && x.to() == DECODE);
    assertThat(scalings(d)).isZero();
    assertThat(f.count(G, PREFILL)).isEqualTo(1);
    assertThat(f.count(G, DECODE)).isEqualTo(4);
    for (int r = 0; r < 10; r++) {
      assertThat(f.round(Map.of(G, OUTPUT_HEAVY)).actions()).as("round %d", r).isEmpty();
    }
    // and back, once the flip-back cooldown has passed
    int flipped = 0;
    for (int r = 0; r < 10; r++) {
      Decision back = f.round(Map.of(G, PROMPT_HEAVY));
      assertThat(scalings(back)).isZero();
      flipped += flips(back).size();
    }
    assertThat(flipped).isEqualTo(2);
    assertThat(f.count(G, PREFILL)).isEqualTo(3);
    assertThat(f.count(G, DECODE)).isEqualTo(2);
  }

  @Test
  void decodeIsSizedForTheKvItsStreamsHoldWhenWorkersReportTheirCache() {
    // output-heavy: 2 req/s × 300 tokens at a 100 ms TPOT = 60 streams of 500 tokens each
    var measured = new PlannerFixture().add(G, PREFILL, 1).add(G, DECODE, 4);
    GroupPlan unknown = measured.plan(Map.of(G, OUTPUT_HEAVY)).group(G);
    assertThat(unknown.decode().need()).isCloseTo(600 / (200 * 0.85), within(0.01));

    var small = new PlannerFixture().add(G, PREFILL, 1);
    for (int i = 0; i < 4; i++) {
      small.instances.add(
          new InstanceState(
              "d" + i,
              G,
              DECODE,
              InstanceState.Phase.ACTIVE,
              PlannerFixture.PREFILL_CAP,
              PlannerFixture.DECODE_CAP,
              32,
              8000,
              8000,
              StepTime.UNKNOWN,
              1,
              0,
              0));
    }
    Decision d = small.plan(Map.of(G, OUTPUT_HEAVY));
    // 60 × 500 tokens ÷ (8000 × 0.85) = 4.41 instances, more than throughput's 3.53
    assertThat(d.group(G).decode().need()).isCloseTo(60 * 500 / (8000 * 0.85), within(0.01));
    assertThat(d.group(G).targetDecode()).isEqualTo(5);
    assertThat(d.why()).anyMatch(w -> w.startsWith("default: decode is bound by KV memory"));
  }

  @Test
  void withMeasuredPassTimesDecodeIsSizedAtTheBatchItsSloAndKvAllow() {
    // a GPU-like pass: 30 ms + 0.4 ms a row; output-heavy needs 600 tok/s
    StepTime gpu = new StepTime(30, 0.4);
    GroupPlan slo = decodeOf(gpu, 0, BASE_SLO).group(G);
    // b* = (100 − 30) / 0.4 = 175 streams, a pass of 100 ms: 1750 tok/s an instance (the measured
    // 200 tok/s was at batch 8); decode instances take handed-off requests past their 32 slots
    assertThat(slo.decode().capacityPerInstance()).isCloseTo(1750, within(0.01));
    assertThat(slo.decode().need()).isCloseTo(600 / (1750 * 0.85), within(0.001));

    // a 40 ms TPOT SLO allows 25 streams: (40 − 30) / 0.4
    Decision tight = decodeOf(gpu, 0, BASE_SLO.replace("tpotMs: 100", "tpotMs: 40"));
    assertThat(tight.group(G).decode().capacityPerInstance()).isCloseTo(625, within(0.01));
    assertThat(tight.why()).anyMatch(w -> w.contains("25 streams (bound by the TPOT SLO)"));

    // 8000 KV tokens hold 16 streams of 200 + 300 tokens
    Decision kv = decodeOf(gpu, 8000, BASE_SLO);
    assertThat(kv.group(G).decode().capacityPerInstance())
        .isCloseTo(1000 * 16 / 36.4, within(0.01));
    assertThat(kv.why()).anyMatch(w -> w.contains("16 streams (bound by KV memory)"));
  }

  @Test
  void kvReservedBeforeTheFirstDecodePassHoldsStreamsThatDoNotDecodeYet() {
    StepTime gpu = new StepTime(30, 0.4);
    // 8000 KV tokens hold 16 streams of 200 + 300 tokens; each waits 800 ms (the observed mean
    // TTFT) with its KV reserved, then decodes 300 passes: b = 16 · 300·t(b) / (300·t(b) + 800)
    double b = RoleSizing.decodingStreams(16, 300, 800, gpu);
    assertThat(b).isCloseTo(16 * 300 * gpu.ms(b) / (300 * gpu.ms(b) + 800), within(1e-6));
    assertThat(b).isBetween(14.0, 15.0);
    assertThat(RoleSizing.decodingStreams(16, 300, 0, gpu)).as("no wait").isEqualTo(16);

    var waited =
        Map.of(G, new GroupLoad(G, OUTPUT_HEAVY, new Latency(100, 800, 900), Latency.NONE));
    Decision d = decodeOf(gpu, 8000, BASE_SLO, waited);
    assertThat(d.group(G).decode().capacityPerInstance())
        .isCloseTo(1000 * b / gpu.ms(b), within(0.01));
    assertThat(d.why())
        .anyMatch(w -> w.contains("(bound by KV memory, 1 of its 16 streams' KV reserved before"));

    // a TTFT over the SLO (1000 ms here) counts as the SLO: admission refuses what waits longer
    var slow =
        Map.of(G, new GroupLoad(G, OUTPUT_HEAVY, new Latency(100, 9000, 9500), Latency.NONE));
    double atSlo = RoleSizing.decodingStreams(16, 300, 1000, gpu);
    assertThat(decodeOf(gpu, 8000, BASE_SLO, slow).group(G).decode().capacityPerInstance())
        .isCloseTo(1000 * atSlo / gpu.ms(atSlo), within(0.01));
  }

  private static final String BASE_SLO = PlannerFixture.BASE;

  private static Decision decodeOf(StepTime step, long kvTokens, String yaml) {
    return decodeOf(step, kvTokens, yaml, Map.of());
  }

  private static Decision decodeOf(
      StepTime step, long kvTokens, String yaml, Map<String, GroupLoad> observed) {
    var f = new PlannerFixture(yaml).add(G, PREFILL, 1);
    for (int i = 0; i < 4; i++) {
      f.instances.add(
          new InstanceState(
              "d" + i,
              G,
              DECODE,
              InstanceState.Phase.ACTIVE,
              PlannerFixture.PREFILL_CAP,
              PlannerFixture.DECODE_CAP,
              32,
              kvTokens,
              kvTokens,
              step,
              8,
              0,
              0));
    }
    return f.plan(Map.of(G, OUTPUT_HEAVY), observed);
  }

  @Test
  void flipsTheCheapestInstances() {
    var f = new PlannerFixture();
    f.instances.add(withLoad("busy", PREFILL, 0, 5000));
    f.instances.add(withLoad("idle", PREFILL, 0, 0));
    f.instances.add(withLoad("p3", PREFILL, 0, 900));
    f.instances.add(withLoad("d1", DECODE, 3, 0));
    f.instances.add(withLoad("d2", DECODE, 3, 0));
    Decision d = f.plan(Map.of(G, OUTPUT_HEAVY));
    assertThat(flips(d)).extracting(Action.Flip::instanceId).containsExactly("idle", "p3");

    var g = new PlannerFixture();
    g.instances.add(withLoad("p1", PREFILL, 0, 0));
    g.instances.add(withLoad("full", DECODE, 20, 0));
    g.instances.add(withLoad("light", DECODE, 2, 0));
    g.instances.add(withLoad("mid", DECODE, 9, 0));
    g.instances.add(withLoad("more", DECODE, 12, 0));
    assertThat(flips(g.plan(Map.of(G, PROMPT_HEAVY))))
        .extracting(Action.Flip::instanceId)
        .containsExactly("light", "mid");
  }

  private static InstanceState withLoad(
      String id, dev.duet.controller.registry.InstanceRole role, int running, long queued) {
    return new InstanceState(
        id, G, role, InstanceState.Phase.ACTIVE, 1000, 200, 32, running, queued, 0);
  }
}
