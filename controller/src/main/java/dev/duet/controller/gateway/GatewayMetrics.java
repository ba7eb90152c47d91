package dev.duet.controller.gateway;

import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The controller's Micrometer meters, scraped as Prometheus text at {@code /metrics}: time to first
 * token, time per output token and end-to-end latency (histograms), requests by outcome,
 * rejections, requests in flight, live instances by role, and requests served outside their
 * scenario group (fallbacks). It also keeps the figures the operator API's cluster summary shows
 * (requests in flight, arrivals per second).
 *
 * <p>Threading: meters are thread-safe.
 */
public final class GatewayMetrics {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(GatewayMetrics.class);

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Timer ttft;
  private final Timer tpot;
  private final Timer e2e;
  private final Timer overhead;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final ArrivalRate arrivals = new ArrivalRate(System::nanoTime, 10);
  private final LongAdder arrivedTotal = new LongAdder();
  private final LatencyWindow latencies = new LatencyWindow(10_000);
  private volatile RequestListener listener = RequestListener.NOOP;
  private volatile java.util.function.IntSupplier waitingForRoom = () -> 0;

  /** Groups whose first fallback was logged. */
  private final java.util.Set<String> fellBack = java.util.concurrent.ConcurrentHashMap.newKeySet();

  public GatewayMetrics(InstanceRegistry instances) {
    Gauge.builder("duet.requests.in_flight", inFlight, AtomicInteger::get)
        .description("client requests the controller is answering now")
        .register(registry);
    // the gauge holds this (a meter registry keeps its gauges' objects weakly)
    Gauge.builder("duet.requests.waiting_for_room", this, m -> m.waitingForRoom.getAsInt())
        .description("requests waiting for an instance with KV room now")
        .register(registry);
    ttft = histogram("duet.request.ttft", "time to first token");
    tpot = histogram("duet.request.tpot", "time per output token after the first");
    e2e = histogram("duet.request.duration", "end-to-end request latency");
    overhead =
        Timer.builder("duet.gateway.overhead")
            .description(
                "time the controller adds: validation, tokenization and routing before the"
                    + " request goes upstream (not the time workers take to answer it), plus"
                    + " relaying the first token")
            .publishPercentiles(0.5, 0.99) // over a rolling window, as quantile lines
            .register(registry);
    for (InstanceRole role : InstanceRole.values()) {
      Gauge.builder(
              "duet.instances.alive",
              instances,
              r -> r.alive().stream().filter(i -> i.descriptor().role() == role).count())
          .description("live instances by role")
          .tag("role", role.name().toLowerCase(Locale.ROOT))
          .register(registry);
    }
  }

  private Timer histogram(String name, String description) {
    return Timer.builder(name)
        .description(description)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(5))
        .register(registry);
  }

  /** Records a finished request: its first-token and total times, and its output token count. */
  public void completed(long ttftNanos, long totalNanos, int outputTokens, String finishReason) {
    ttft.record(Duration.ofNanos(ttftNanos));
    e2e.record(Duration.ofNanos(totalNanos));
    long perToken = outputTokens > 1 ? (totalNanos - ttftNanos) / (outputTokens - 1) : -1;
    if (perToken >= 0) {
      tpot.record(Duration.ofNanos(perToken));
    }
    latencies.record(ttftNanos, perToken);
    outcome(finishReason);
  }

  /** Records the controller's own share of a request's latency. */
  public void overhead(long nanos) {
    overhead.record(Duration.ofNanos(nanos));
  }

  /** Counts a request by outcome: a finish reason, or an error kind (status). */
  public void outcome(String outcome) {
    Counter.builder("duet.requests")
        .description("requests by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  /**
   * Sets who hears each request's arrival, first token and finish (one listener; NOOP by default).
   */
  public void listen(RequestListener l) {
    this.listener = java.util.Objects.requireNonNull(l, "listener");
  }

  /** Who hears each request's life. */
  public RequestListener listener() {
    return listener;
  }

  /** A client request arrived (an OpenAI endpoint was called). */
  public void arrived() {
    inFlight.incrementAndGet();
    arrivals.mark();
    arrivedTotal.increment();
  }

  /** Client requests that arrived since this controller started. */
  public long arrivedTotal() {
    return arrivedTotal.sum();
  }

  /**
   * TTFT and TPOT of the requests finished since the window's last drain; the cluster history
   * drains it once per sample (one reader).
   */
  public LatencyWindow latencies() {
    return latencies;
  }

  /** A client request's response ended, or its client went away. */
  public void departed() {
    inFlight.decrementAndGet();
  }

  /** Client requests being answered now. */
  public int inFlight() {
    return inFlight.get();
  }

  /** Client requests per second over the last 10 s. */
  public double arrivalsPerSecond() {
    return arrivals.perSecond();
  }

  /** Counts a request that found no instance with room on arrival and waits for one. */
  public void waitedForRoom() {
    Counter.builder("duet.requests.waited_for_room")
        .description(
            "requests that found no instance with KV room on arrival and waited for one (up to"
                + " the TTFT budget) instead of a 503")
        .register(registry)
        .increment();
  }

  /** Reads the requests waiting for room now from {@code waiting} (the gateway's queue). */
  void gaugeWaitingForRoom(java.util.function.IntSupplier waiting) {
    this.waitingForRoom = java.util.Objects.requireNonNull(waiting, "waiting");
  }

  /** Counts a 503: no instance could take the request. */
  public void rejected() {
    Counter.builder("duet.rejections")
        .description("requests every instance refused (503)")
        .register(registry)
        .increment();
  }

  /** Records a live migration: its outcome, and for one that happened its downtime and copies. */
  public void migration(String outcome, long downtimeNanos, long bytes, int stages) {
    Counter.builder("duet.migrations")
        .description("live migrations by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
    if (outcome.equals("migrated")) {
      Timer.builder("duet.migration.downtime")
          .description(
              "a migrated request's pause: freeze on the source to first token on the target")
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofMillis(1))
          .maximumExpectedValue(Duration.ofSeconds(10))
          .register(registry)
          .record(Duration.ofNanos(downtimeNanos));
    }
    Counter.builder("duet.migration.bytes")
        .description("KV bytes copied by live migrations")
        .baseUnit("bytes")
        .register(registry)
        .increment(bytes);
    Counter.builder("duet.migration.stages")
        .description("copy stages run by live migrations")
        .register(registry)
        .increment(stages);
  }

  /**
   * Counts a request of {@code group} served (routed, migrated or recovered) by the default group's
   * instances because its own group had none for a role; logged at info the first time for each
   * group, at debug after.
   */
  public void groupFallback(String group) {
    Counter.builder("duet.group.fallbacks")
        .description(
            "requests served by the default group's instances because their own group had none"
                + " for a role")
        .tag("group", group)
        .register(registry)
        .increment();
    if (fellBack.add(group)) {
      LOG.info(
          "group {} has no instance for a role: its requests go to the default group's instances"
              + " (counted in duet_group_fallbacks_total; logged once per group)",
          group);
    } else {
      LOG.debug("group {}: request served by the default group's instances", group);
    }
  }

  /** Requests of {@code group} that fell back to the default group's instances so far. */
  public double groupFallbacks(String group) {
    Counter c = registry.find("duet.group.fallbacks").tag("group", group).counter();
    return c == null ? 0 : c.count();
  }

  /** Counts a recovery of a request whose instance failed, by outcome. */
  public void recovery(String outcome) {
    Counter.builder("duet.recoveries")
        .description("requests continued elsewhere after their instance failed, by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  /** The Prometheus text exposition. */
  public String scrape() {
    return registry.scrape();
  }
}
