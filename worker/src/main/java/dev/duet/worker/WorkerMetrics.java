package dev.duet.worker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * A worker's Micrometer meters, scraped as Prometheus text at {@code /metrics}: queue depth,
 * running requests, KV blocks free and used, forward passes, tokens generated, and requests by
 * finish reason.
 *
 * <p>Threading: meters are thread-safe; gauges read the step loop's latest {@link StepLoop.Load}.
 */
public final class WorkerMetrics {

  private final PrometheusMeterRegistry registry;

  public WorkerMetrics(StepLoop loop, int totalKvBlocks) {
    this(loop, totalKvBlocks, newRegistry());
  }

  /**
   * Meters in {@code registry}, which other parts of the worker (its kv-transfer node) also record
   * into, so one scrape shows them all.
   */
  public WorkerMetrics(StepLoop loop, int totalKvBlocks, PrometheusMeterRegistry registry) {
    this.registry = registry;
    Gauge.builder("duet.worker.queued", loop, l -> l.load().queued())
        .description("requests waiting for admission")
        .register(registry);
    Gauge.builder("duet.worker.running", loop, l -> l.load().running())
        .description("requests prefilling or decoding")
        .register(registry);
    Gauge.builder("duet.worker.kv.blocks.free", loop, l -> l.load().freeKvBlocks())
        .description("KV cache blocks not reserved")
        .register(registry);
    Gauge.builder("duet.worker.kv.blocks.used", loop, l -> totalKvBlocks - l.load().freeKvBlocks())
        .description("KV cache blocks reserved by requests")
        .register(registry);
    FunctionCounter.builder("duet.worker.steps", loop, l -> l.load().steps())
        .description("forward passes run")
        .register(registry);
    FunctionCounter.builder("duet.worker.tokens.generated", loop, l -> l.load().tokens())
        .description("tokens sampled")
        .register(registry);
  }

  /** Counts a finished request by its OpenAI finish reason (stop, length, abort, error). */
  public void finished(String reason) {
    Counter.builder("duet.worker.requests")
        .description("requests finished, by finish reason")
        .tag("finish_reason", reason)
        .register(registry)
        .increment();
  }

  /** Counts a request refused at once (full queue) or for bad input. */
  public void refused(String why) {
    Counter.builder("duet.worker.rejections")
        .description("requests refused")
        .tag("reason", why)
        .register(registry)
        .increment();
  }

  /** A live migration's outcome on its source: committed, aborted, gave_up, target_failed, ... */
  public void migration(String outcome) {
    Counter.builder("duet.worker.migrations")
        .description("Live migrations out of this worker, by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  /** A registry for a worker's meters. */
  public static PrometheusMeterRegistry newRegistry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  /** The Prometheus text exposition. */
  public String scrape() {
    return registry.scrape();
  }
}
