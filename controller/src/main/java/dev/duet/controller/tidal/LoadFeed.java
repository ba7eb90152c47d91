package dev.duet.controller.tidal;

import dev.duet.controller.gateway.RequestListener;
import dev.duet.controller.planner.LoadTracker;
import dev.duet.controller.registry.InstanceLoad;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Feeds the {@link LoadTracker} from the live cluster: the gateway's requests (each in the scenario
 * group the gateway classified it into and routes it to: on arrival its prompt tokens and the
 * output tokens it asks for, its {@code max_tokens} scaled by the share its group's recent requests
 * generated; TTFT at the first token; at the end its mean TPOT and what it generated) and the
 * workers' heartbeats (measured prefill and decode tokens/s per instance).
 *
 * <p>Threading: {@link RequestListener} calls come on the event loop, heartbeats on the registry's
 * callers; the request → group map is concurrent and each request's entry lives from arrival to
 * {@link #ended}.
 */
public final class LoadFeed implements RequestListener {
  private final LoadTracker tracker;
  private final LongSupplier millis;
  private final Map<String, Open> open = new ConcurrentHashMap<>();

  /**
   * A request between arrival and end: its group, its {@code max_tokens} and how long it waited for
   * KV room before its prefill, ns.
   */
  private record Open(String group, int maxTokens, long roomWaitNanos) {}

  /**
   * @param millis the clock the planner rounds use, milliseconds
   */
  public LoadFeed(LoadTracker tracker, LongSupplier millis) {
    this.tracker = Objects.requireNonNull(tracker, "tracker");
    this.millis = Objects.requireNonNull(millis, "millis");
  }

  @Override
  public void arrived(String id, String group, int promptTokens, int maxTokens) {
    open.put(id, new Open(group, maxTokens, 0));
    long now = millis.getAsLong();
    tracker.recordArrival(group, now, promptTokens);
    tracker.recordOutputTokens(
        group, now, Math.round(maxTokens * tracker.completionRatio(group, now)));
  }

  @Override
  public void waitedForRoom(String id, long waitNanos) {
    // A request refused by a decode instance after it was routed waits again: the waits add up.
    open.computeIfPresent(
        id, (k, o) -> new Open(o.group(), o.maxTokens(), o.roomWaitNanos() + waitNanos));
  }

  /**
   * The tracker's TTFT is the prefill side's: from when the request was sent to be prefilled. A
   * wait for decode KV room is the decode side's shortage; counted in, a full decode pool read as
   * slow prefill, and the planner's prefill correction moved instances from decode to prefill, the
   * opposite of what the wait asks for.
   */
  @Override
  public void firstToken(String id, long ttftNanos) {
    Open o = open.get(id);
    if (o != null) {
      tracker.recordFirstToken(
          o.group(), millis.getAsLong(), Math.max(0, ttftNanos - o.roomWaitNanos()) / 1e6);
    }
  }

  @Override
  public void finished(String id, long ttftNanos, long totalNanos, int outputTokens) {
    Open o = open.get(id);
    if (o == null) {
      return;
    }
    long now = millis.getAsLong();
    if (outputTokens > 1) {
      tracker.recordFinished(o.group(), now, (totalNanos - ttftNanos) / 1e6 / (outputTokens - 1));
    }
    tracker.recordCompletion(o.group(), now, outputTokens, o.maxTokens());
  }

  @Override
  public void ended(String id) {
    open.remove(id);
  }

  /** One worker heartbeat: its measured throughputs (zeros leave the last measurement). */
  public void heartbeat(String instanceId, InstanceLoad load) {
    tracker.reportInstance(
        instanceId,
        millis.getAsLong(),
        load.prefillTokensPerS(),
        load.decodeTokensPerS(),
        load.decodeStep());
  }

  /** Requests between arrival and end. */
  int open() {
    return open.size();
  }
}
