package dev.duet.controller.history;

import dev.duet.controller.gateway.GatewayMetrics;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceView;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's recent past for the dashboard: every {@code interval} a {@link HistorySample} (live
 * instances per role, load totals, arrivals, TTFT/TPOT percentiles over the interval, the SLO, the
 * planner's forecast when one is {@link #forecast plugged in}) goes into a ring that keeps the last
 * {@code span}. Served as {@code GET /admin/v1/history} ({@link HistoryAdmin}).
 *
 * <p>Threading: {@link #sample} runs on a Vert.x timer ({@link #start}) or a test's thread, one at
 * a time (it drains the gateway's {@link dev.duet.controller.gateway.LatencyWindow}); the ring is
 * synchronized, so {@link #since} may be called from any thread. The forecast is a volatile field.
 */
public final class ClusterHistory implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterHistory.class);

  /** The default sampling interval. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(2);

  /** How far back the history goes by default. */
  public static final Duration DEFAULT_SPAN = Duration.ofHours(1);

  private final InstanceRegistry registry;
  private final GatewayMetrics metrics;
  private final Supplier<Policy.Slo> slo;
  private final InstantSource clock;
  private final LongSupplier nanoClock;
  private final Duration interval;
  private final int capacity;
  private final ArrayDeque<HistorySample> ring;
  private volatile ArrivalForecast forecast;

  /** {@link GatewayMetrics#arrivedTotal} at the previous sample. */
  private long lastArrived;

  /** The monotonic clock at the previous sample (or at construction), nanoseconds. */
  private long lastNanos;

  private Vertx vertx;
  private long timer = -1;

  /**
   * @param slo the current policy's SLO, read at each sample
   * @param clock wall clock, for the samples' times
   * @param nanoClock monotonic clock in nanoseconds, for the arrival rate
   * @param interval time between samples, at least 100 ms
   * @param span how far back the ring reaches; at least one interval
   */
  public ClusterHistory(
      InstanceRegistry registry,
      GatewayMetrics metrics,
      Supplier<Policy.Slo> slo,
      InstantSource clock,
      LongSupplier nanoClock,
      Duration interval,
      Duration span) {
    this.registry = Objects.requireNonNull(registry, "registry");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.slo = Objects.requireNonNull(slo, "slo");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    if (interval.toMillis() < 100) {
      throw new IllegalArgumentException("interval must be >= 100 ms, got " + interval);
    }
    if (span.compareTo(interval) < 0) {
      throw new IllegalArgumentException(
          "span must be >= interval (" + interval + "), got " + span);
    }
    this.interval = interval;
    this.capacity = Math.toIntExact(span.toMillis() / interval.toMillis());
    this.ring = new ArrayDeque<>(capacity);
    this.lastArrived = metrics.arrivedTotal();
    this.lastNanos = nanoClock.getAsLong();
  }

  /** Shows {@code source}'s forecast from the next sample on; null: no forecast. */
  public void forecast(ArrivalForecast source) {
    this.forecast = source;
  }

  public Duration interval() {
    return interval;
  }

  /** Samples the ring keeps. */
  public int capacity() {
    return capacity;
  }

  /** Samples every {@link #interval} on {@code vertx}'s timer until {@link #close}. */
  public synchronized ClusterHistory start(Vertx vertx) {
    if (timer >= 0) {
      throw new IllegalStateException("the history is sampling already");
    }
    this.vertx = vertx;
    this.timer = vertx.setPeriodic(interval.toMillis(), id -> sample());
    return this;
  }

  /** Takes one sample now and keeps it (the oldest goes when the ring is full). */
  public HistorySample sample() {
    long now = nanoClock.getAsLong();
    long arrived = metrics.arrivedTotal();
    double seconds = Math.max(1e-3, (now - lastNanos) / 1e9);
    double arrivals = Math.max(0, arrived - lastArrived) / seconds;
    lastNanos = now;
    lastArrived = arrived;
    int prefill = 0;
    int decode = 0;
    int both = 0;
    long running = 0;
    long queued = 0;
    long free = 0;
    long kv = 0;
    for (InstanceView v : registry.snapshot()) {
      if (!v.alive()) {
        continue;
      }
      switch (v.descriptor().role()) {
        case PREFILL -> prefill++;
        case DECODE -> decode++;
        case BOTH -> both++;
      }
      InstanceLoad l = v.load();
      running += l.running();
      queued += l.queued();
      free += l.freeKvBlocks();
      kv += v.descriptor().kvBlocks();
    }
    long at = clock.millis();
    HistorySample s =
        new HistorySample(
            at,
            new HistorySample.RoleCounts(prefill, decode, both),
            running,
            queued,
            free,
            kv,
            arrivals,
            forecastAt(at),
            metrics.latencies().drain(),
            slo.get());
    synchronized (ring) {
      if (ring.size() == capacity) {
        ring.removeFirst();
      }
      ring.addLast(s);
    }
    return s;
  }

  private double forecastAt(long epochMillis) {
    ArrivalForecast f = forecast;
    if (f == null) {
      return Double.NaN;
    }
    try {
      OptionalDouble d = f.arrivalsPerSecondAt(epochMillis);
      return d.isPresent() && d.getAsDouble() >= 0 ? d.getAsDouble() : Double.NaN;
    } catch (RuntimeException e) {
      LOG.warn("the arrival forecast {} failed; the sample has none", f, e);
      return Double.NaN;
    }
  }

  /** The kept samples taken after {@code epochMillis} (exclusive), oldest first. */
  public List<HistorySample> since(long epochMillis) {
    List<HistorySample> out = new ArrayList<>();
    synchronized (ring) {
      for (HistorySample s : ring) {
        if (s.epochMillis() > epochMillis) {
          out.add(s);
        }
      }
    }
    return out;
  }

  /** Stops sampling (the samples stay readable). */
  @Override
  public synchronized void close() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }
}
