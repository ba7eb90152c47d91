package dev.duet.controller.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.duet.controller.registry.StepTime;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LoadTrackerTest {

  @Test
  void measuresRatesAndLatenciesOverItsWindowPerGroup() {
    var t = new LoadTracker(Duration.ofSeconds(10));
    long t0 = 50_000;
    for (int k = 0; k < 100; k++) { // 10 req/s for 10 s, 200-token prompts, 40 output tokens each
      long at = t0 + k * 100;
      t.recordArrival("chat", at, 200);
      t.recordFirstToken("chat", at, k + 1); // 1 … 100 ms
      t.recordOutputTokens("chat", at, 40);
      t.recordFinished("chat", at, 20);
    }
    t.recordArrival("batch", t0, 5000);
    GroupLoad chat = t.group("chat", t0 + 10_000, 0.9);
    assertThat(chat.rates().arrivalsPerS()).isCloseTo(10, within(0.01));
    assertThat(chat.rates().promptTokensPerS()).isCloseTo(2000, within(0.1));
    assertThat(chat.rates().outputTokensPerS()).isCloseTo(400, within(0.1));
    assertThat(chat.ttft().samples()).isEqualTo(100);
    assertThat(chat.ttft().meanMs()).isCloseTo(50.5, within(1e-9));
    assertThat(chat.ttft().atAttainmentMs()).isEqualTo(90);
    assertThat(chat.tpot().meanMs()).isEqualTo(20);
    assertThat(t.groups(t0 + 10_000, 0.9)).containsOnlyKeys("batch", "chat");
  }

  @Test
  void forgetsWhatLeftTheWindow() {
    var t = new LoadTracker(Duration.ofSeconds(10));
    t.recordArrival("g", 0, 100);
    t.recordFirstToken("g", 0, 5000);
    t.recordArrival("g", 15_000, 100);
    GroupLoad g = t.group("g", 20_000, 0.5);
    assertThat(g.rates().arrivalsPerS()).isCloseTo(0.1, within(1e-9));
    assertThat(g.ttft()).isEqualTo(Latency.NONE);
    assertThat(t.group("never", 20_000, 0.5)).isEqualTo(GroupLoad.idle("never"));
  }

  @Test
  void aYoungGroupsRatesAreOverTheTimeItHasExisted() {
    var t = new LoadTracker(Duration.ofSeconds(60));
    for (int k = 0; k < 20; k++) {
      t.recordArrival("g", 1000 + k * 100, 10);
    }
    // 20 requests in the 2 s since the group was first seen, not over the 60 s window
    assertThat(t.group("g", 3000, 0.9).rates().arrivalsPerS()).isCloseTo(10, within(1e-9));
  }

  @Test
  void smoothsEachInstancesMeasuredThroughputAndIgnoresZeros() {
    var t = new LoadTracker(Duration.ofSeconds(10));
    t.reportInstance("w1", 1000, 1000, 0);
    t.reportInstance("w1", 2000, 2000, 300);
    t.reportInstance("w1", 3000, 0, 0);
    var c = t.capacity("w1").orElseThrow();
    assertThat(c.prefillTokensPerS()).isCloseTo(1300, within(1e-9)); // 0.3 × 2000 + 0.7 × 1000
    assertThat(c.decodeTokensPerS()).isEqualTo(300);
    assertThat(c.lastReportMillis()).isEqualTo(3000);
    t.forgetInstance("w1");
    assertThat(t.capacities()).isEmpty();
  }

  @Test
  void keepsTheLastMeasuredDecodePassTimeWhenAReportHasNone() {
    var t = new LoadTracker(Duration.ofSeconds(10));
    t.reportInstance("w1", 1000, 0, 300, new StepTime(30, 0.4));
    t.reportInstance("w1", 2000, 0, 300, StepTime.UNKNOWN);
    assertThat(t.capacity("w1").orElseThrow().decodeStep()).isEqualTo(new StepTime(30, 0.4));
    t.reportInstance("w1", 3000, 0, 300, new StepTime(28, 0.5));
    assertThat(t.capacity("w1").orElseThrow().decodeStep()).isEqualTo(new StepTime(28, 0.5));
  }
}
