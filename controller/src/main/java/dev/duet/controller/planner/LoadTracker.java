package dev.duet.controller.planner;

import dev.duet.controller.registry.StepTime;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Sliding windows of what each scenario group asks for and gets (arrivals, prompt and output
 * tokens, TTFT and TPOT) and of what each instance can do (its measured prefill and decode
 * throughput, from worker load reports). The planner reads it once per interval; the gateway and
 * the registry feed it as requests and heartbeats arrive.
 *
 * <p>Times are caller-supplied milliseconds from any one clock (tests use a fake one). Each window
 * holds at most {@link #MAX_EVENTS} events per kind and group; beyond that the oldest go first,
 * which under-counts rates only above ~1000 requests/s over a 60 s window.
 *
 * <p>Thread-safe: every method is synchronized (each is O(window) at worst, called at request rate
 * or once per interval).
 */
public final class LoadTracker {
  /** Events kept per kind and group. */
  public static final int MAX_EVENTS = 65_536;

  /** Weight of a new throughput measurement in an instance's running average. */
  static final double CAPACITY_SMOOTHING = 0.3;

  private final long windowMillis;
  private final Map<String, Windows> groups = new HashMap<>();
  private final Map<String, InstanceCapacity> instances = new HashMap<>();

  /** A tracker whose windows span {@code window}. */
  public LoadTracker(Duration window) {
    this.windowMillis = window.toMillis();
    if (windowMillis < 1000) {
      throw new IllegalArgumentException("window must be >= 1 s, got " + window);
    }
  }

  /** How far back the windows reach, milliseconds. */
  public long windowMillis() {
    return windowMillis;
  }

  /**
   * An instance's measured throughput, smoothed over its reports. 0 means never measured.
   *
   * @param prefillTokensPerS prompt tokens per second when it prefills
   * @param decodeTokensPerS output tokens per second, all streams, when it decodes
   * @param decodeStep its last measured decode pass time ({@link StepTime#UNKNOWN} if none)
   * @param lastReportMillis when the last report came
   */
  public record InstanceCapacity(
      double prefillTokensPerS,
      double decodeTokensPerS,
      StepTime decodeStep,
      long lastReportMillis) {}

  /** A request of {@code group} with {@code promptTokens} prompt tokens arrived. */
  public synchronized void recordArrival(String group, long atMillis, long promptTokens) {
    windows(group, atMillis).arrivals.add(atMillis, promptTokens);
  }

  /** A request of {@code group} got its first token {@code ttftMs} after it arrived. */
  public synchronized void recordFirstToken(String group, long atMillis, double ttftMs) {
    windows(group, atMillis).ttft.add(atMillis, ttftMs);
  }

  /**
   * A request of {@code group} that arrived asks for {@code tokens} output tokens: the output
   * demand, counted at arrival (its {@code max_tokens} scaled by {@link #completionRatio}), not as
   * tokens are generated. Generated tokens lag the arrivals by a request's life and cannot exceed
   * what the decode instances serve, so a planner sized from them would see an output-heavy turn
   * late and an overloaded decode pool as no busier than its capacity.
   */
  public synchronized void recordOutputTokens(String group, long atMillis, long tokens) {
    windows(group, atMillis).output.add(atMillis, tokens);
  }

  /**
   * A request of {@code group} ended having generated {@code generated} of its {@code maxTokens}.
   */
  public synchronized void recordCompletion(
      String group, long atMillis, int generated, int maxTokens) {
    Windows w = windows(group, atMillis);
    w.generated.add(atMillis, generated);
    w.requested.add(atMillis, maxTokens);
  }

  /**
   * The share of their {@code max_tokens} that {@code group}'s requests ended in the window
   * generated (they stop early at a stop sequence or end of text): 1 until one has ended.
   */
  public synchronized double completionRatio(String group, long nowMillis) {
    Windows w = groups.get(group);
    if (w == null) {
      return 1;
    }
    w.evictBefore(nowMillis - windowMillis);
    double requested = w.requested.sum();
    return requested > 0 ? Math.min(1, w.generated.sum() / requested) : 1;
  }

  /** A request of {@code group} finished with a mean time per output token of {@code tpotMs}. */
  public synchronized void recordFinished(String group, long atMillis, double tpotMs) {
    windows(group, atMillis).tpot.add(atMillis, tpotMs);
  }

  /**
   * A worker's load report: its measured throughputs (0 = not measured, which leaves the previous
   * measurement in place).
   */
  public synchronized void reportInstance(
      String instanceId,
      long atMillis,
      double prefillTokensPerS,
      double decodeTokensPerS,
      StepTime decodeStep) {
    InstanceCapacity old = instances.get(instanceId);
    double p = smooth(old == null ? 0 : old.prefillTokensPerS(), prefillTokensPerS);
    double d = smooth(old == null ? 0 : old.decodeTokensPerS(), decodeTokensPerS);
    StepTime step = decodeStep.known() || old == null ? decodeStep : old.decodeStep();
    instances.put(instanceId, new InstanceCapacity(p, d, step, atMillis));
  }

  /** {@link #reportInstance(String, long, double, double, StepTime)} without a pass time. */
  public synchronized void reportInstance(
      String instanceId, long atMillis, double prefillTokensPerS, double decodeTokensPerS) {
    reportInstance(instanceId, atMillis, prefillTokensPerS, decodeTokensPerS, StepTime.UNKNOWN);
  }

  /** Drops an instance that left. */
  public synchronized void forgetInstance(String instanceId) {
    instances.remove(instanceId);
  }

  public synchronized Optional<InstanceCapacity> capacity(String instanceId) {
    return Optional.ofNullable(instances.get(instanceId));
  }

  public synchronized Map<String, InstanceCapacity> capacities() {
    return Map.copyOf(instances);
  }

  /**
   * What {@code group} saw in the window ending at {@code nowMillis}; latencies at the {@code
   * attainment} percentile (e.g. 0.9).
   */
  public synchronized GroupLoad group(String group, long nowMillis, double attainment) {
    Windows w = groups.get(group);
    if (w == null) {
      return GroupLoad.idle(group);
    }
    long from = nowMillis - windowMillis;
    w.evictBefore(from);
    double seconds = Math.clamp(nowMillis - w.firstSeenMillis, 1000, windowMillis) / 1000.0;
    var rates =
        new LoadRates(
            w.arrivals.size() / seconds, w.arrivals.sum() / seconds, w.output.sum() / seconds);
    return new GroupLoad(group, rates, w.ttft.latency(attainment), w.tpot.latency(attainment));
  }

  /** Every group seen so far, by name. */
  public synchronized Map<String, GroupLoad> groups(long nowMillis, double attainment) {
    var all = new TreeMap<String, GroupLoad>();
    for (String g : groups.keySet()) {
      all.put(g, group(g, nowMillis, attainment));
    }
    return all;
  }

  private Windows windows(String group, long atMillis) {
    return groups.computeIfAbsent(group, g -> new Windows(atMillis));
  }

  private static double smooth(double old, double measured) {
    if (!(measured > 0)) {
      return old;
    }
    return old > 0 ? CAPACITY_SMOOTHING * measured + (1 - CAPACITY_SMOOTHING) * old : measured;
  }

  /** A group's windows. */
  private static final class Windows {
    final long firstSeenMillis;
    final Samples arrivals = new Samples();
    final Samples output = new Samples();
    final Samples generated = new Samples();
    final Samples requested = new Samples();
    final Samples ttft = new Samples();
    final Samples tpot = new Samples();

    Windows(long firstSeenMillis) {
      this.firstSeenMillis = firstSeenMillis;
    }

    void evictBefore(long fromMillis) {
      arrivals.evictBefore(fromMillis);
      output.evictBefore(fromMillis);
      generated.evictBefore(fromMillis);
      requested.evictBefore(fromMillis);
      ttft.evictBefore(fromMillis);
      tpot.evictBefore(fromMillis);
    }
  }

  /** Time-ordered (time, value) samples with a running sum, bounded by {@link #MAX_EVENTS}. */
  private static final class Samples {
    private final ArrayDeque<double[]> items = new ArrayDeque<>(); // {atMillis, value}
    private double sum;

    void add(long atMillis, double value) {
      if (items.size() == MAX_EVENTS) {
        sum -= items.removeFirst()[1];
      }
      items.addLast(new double[] {atMillis, value});
      sum += value;
    }

    void evictBefore(long fromMillis) {
      while (!items.isEmpty() && items.peekFirst()[0] < fromMillis) {
        sum -= items.removeFirst()[1];
      }
      if (items.isEmpty()) {
        sum = 0; // no drift from floating-point subtraction
      }
    }

    int size() {
      return items.size();
    }

    double sum() {
      return Math.max(0, sum);
    }

    Latency latency(double attainment) {
      if (items.isEmpty()) {
        return Latency.NONE;
      }
      double[] v = items.stream().mapToDouble(s -> s[1]).sorted().toArray();
      int rank = (int) Math.ceil(attainment * v.length) - 1; // nearest rank
      return new Latency(
          v.length, Arrays.stream(v).average().orElse(0), v[Math.clamp(rank, 0, v.length - 1)]);
    }
  }
}
