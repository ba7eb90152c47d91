package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LatencyWindowTest {

  private static final long MS = 1_000_000;

  @Test
  void percentilesCoverTheRequestsSinceTheLastDrainOnly() {
    LatencyWindow w = new LatencyWindow(1000);
    for (int i = 1; i <= 100; i++) {
      w.record(i * MS, i * MS / 10);
    }
    LatencyWindow.Interval first = w.drain();
    assertThat(first.ttft().count()).isEqualTo(100);
    assertThat(first.ttft().p50Ms()).isEqualTo(50.0);
    assertThat(first.ttft().p99Ms()).isEqualTo(99.0);
    assertThat(first.tpot().p50Ms()).isEqualTo(5.0);

    w.record(7 * MS, -1);
    LatencyWindow.Interval second = w.drain();
    assertThat(second.ttft()).isEqualTo(new LatencyWindow.Percentiles(1, 7.0, 7.0));
    assertThat(second.tpot()).isEqualTo(LatencyWindow.Percentiles.NONE);
    assertThat(w.drain().ttft().p50Ms()).isNaN();
  }

  @Test
  void pastItsCapacityItCountsEveryRequestButKeepsTheNewest() {
    LatencyWindow w = new LatencyWindow(10);
    for (int i = 1; i <= 25; i++) {
      w.record(i * MS, -1);
    }
    LatencyWindow.Percentiles p = w.drain().ttft();
    assertThat(p.count()).isEqualTo(25);
    // the newest ten are 16..25 ms
    assertThat(p.p50Ms()).isEqualTo(20.0);
    assertThat(p.p99Ms()).isEqualTo(25.0);
  }

  @Test
  void aCapacityBelowOneIsRefused() {
    assertThatThrownBy(() -> new LatencyWindow(0)).hasMessageContaining("capacity must be >= 1");
  }
}
