package dev.duet.controller.history;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.controller.gateway.GatewayMetrics;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ClusterHistoryTest {

  /** Monotonic nanoseconds; the wall clock follows it from a fixed epoch. */
  private final AtomicLong nanos = new AtomicLong(5_000_000_000L);

  private final InstantSource wall =
      () -> Instant.ofEpochMilli(1_800_000_000_000L + nanos.get() / 1_000_000);

  private final InstanceRegistry registry = new InstanceRegistry(nanos::get);
  private final GatewayMetrics metrics = new GatewayMetrics(registry);

  private ClusterHistory history(Duration span) {
    return new ClusterHistory(
        registry,
        metrics,
        () -> new Policy.Slo(500, 50, 0.9),
        wall,
        nanos::get,
        Duration.ofSeconds(2),
        span);
  }

  private void instance(String id, InstanceRole role, int running, int queued, int free) {
    registry.register(new InstanceDescriptor(id, role, "http://127.0.0.1:1", "m", 100, 16, 8));
    registry.heartbeat(id, new InstanceLoad(queued, 0, running, free, 0, 0));
  }

  private void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  @Test
  void aSampleCountsLiveInstancesByRoleAndSumsTheirLoad() {
    instance("p0", InstanceRole.PREFILL, 1, 2, 90);
    instance("d0", InstanceRole.DECODE, 3, 0, 60);
    instance("d1", InstanceRole.DECODE, 4, 1, 50);
    ClusterHistory h = history(Duration.ofHours(1));

    HistorySample s = h.sample();

    assertThat(s.roles()).isEqualTo(new HistorySample.RoleCounts(1, 2, 0));
    assertThat(s.roles().pdRatio()).isEqualTo(0.5);
    assertThat(s.running()).isEqualTo(8);
    assertThat(s.queued()).isEqualTo(3);
    assertThat(s.freeKvBlocks()).isEqualTo(200);
    assertThat(s.kvBlocks()).isEqualTo(300);
    assertThat(s.slo().ttftMs()).isEqualTo(500);
    assertThat(s.epochMillis()).isEqualTo(wall.millis());
  }

  @Test
  void deadInstancesAreNotCountedAndWithoutADecodeInstanceThereIsNoRatio() {
    instance("p0", InstanceRole.PREFILL, 0, 0, 100);
    instance("b0", InstanceRole.BOTH, 0, 0, 100);
    ClusterHistory h = history(Duration.ofHours(1));
    advance(Duration.ofSeconds(2));
    registry.heartbeat("b0", InstanceLoad.idle(100));
    advance(Duration.ofSeconds(2)); // p0 has now missed three heartbeats

    HistorySample s = h.sample();

    assertThat(s.roles()).isEqualTo(new HistorySample.RoleCounts(0, 0, 1));
    assertThat(s.roles().pdRatio()).isNaN();
  }

  @Test
  void arrivalsAreCountedPerSecondSinceThePreviousSample() {
    ClusterHistory h = history(Duration.ofHours(1));
    for (int i = 0; i < 6; i++) {
      metrics.arrived();
    }
    advance(Duration.ofSeconds(2));
    assertThat(h.sample().arrivalsPerS()).isEqualTo(3.0);
    advance(Duration.ofSeconds(4));
    metrics.arrived();
    assertThat(h.sample().arrivalsPerS()).isEqualTo(0.25);
  }

  @Test
  void latenciesAreThoseOfTheRequestsFinishedInTheInterval() {
    ClusterHistory h = history(Duration.ofHours(1));
    metrics.completed(100_000_000L, 1_100_000_000L, 11, "length"); // TPOT 100 ms
    metrics.completed(300_000_000L, 300_000_000L, 1, "length"); // no TPOT

    HistorySample s = h.sample();

    assertThat(s.latency().ttft().count()).isEqualTo(2);
    assertThat(s.latency().ttft().p50Ms()).isEqualTo(100.0);
    assertThat(s.latency().ttft().p99Ms()).isEqualTo(300.0);
    assertThat(s.latency().tpot().count()).isEqualTo(1);
    assertThat(s.latency().tpot().p50Ms()).isEqualTo(100.0);
    assertThat(h.sample().latency().ttft().count()).isZero();
  }

  @Test
  void theRingKeepsTheLastSpanAndSinceReturnsOnlyNewerSamples() {
    ClusterHistory h = history(Duration.ofSeconds(6));
    assertThat(h.capacity()).isEqualTo(3);
    long[] times = new long[5];
    for (int i = 0; i < 5; i++) {
      times[i] = h.sample().epochMillis();
      advance(Duration.ofSeconds(2));
    }
    assertThat(h.since(0))
        .extracting(HistorySample::epochMillis)
        .containsExactly(times[2], times[3], times[4]);
    assertThat(h.since(times[3])).extracting(HistorySample::epochMillis).containsExactly(times[4]);
    assertThat(h.since(times[4])).isEmpty();
  }

  @Test
  void theForecastIsShownOnlyOnceTheHookGivesOne() {
    ClusterHistory h = history(Duration.ofHours(1));
    assertThat(h.sample().hasForecast()).isFalse();

    h.forecast(atMillis -> OptionalDouble.empty());
    assertThat(h.sample().hasForecast()).isFalse();

    h.forecast(atMillis -> OptionalDouble.of(atMillis == wall.millis() ? 4.5 : -1));
    HistorySample s = h.sample();
    assertThat(s.hasForecast()).isTrue();
    assertThat(s.forecastArrivalsPerS()).isEqualTo(4.5);

    h.forecast(
        atMillis -> {
          throw new IllegalStateException("planner not ready");
        });
    assertThat(h.sample().hasForecast()).isFalse();
  }

  @Test
  void anIntervalBelow100MsOrASpanShorterThanOneIntervalIsRefused() {
    assertThatThrownBy(
            () ->
                new ClusterHistory(
                    registry,
                    metrics,
                    () -> Policy.Slo.DEFAULTS,
                    wall,
                    nanos::get,
                    Duration.ofMillis(50),
                    Duration.ofHours(1)))
        .hasMessageContaining("interval must be >= 100 ms");
    assertThatThrownBy(() -> history(Duration.ofSeconds(1)))
        .hasMessageContaining("span must be >= interval");
  }
}
