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
 * group the gateway classified it into and routes it to: arrival with its prompt tokens, TTFT at
 * the first token, output tokens as they stream, mean TPOT at the end) and the workers' heartbeats
 * (measured prefill and decode tokens/s per instance).
 *
 * <p>Threading: {@link RequestListener} calls come on the event loop, heartbeats on the registry's
 * callers; the request → group map is concurrent and each request's entry lives from arrival to
 * {@link #ended}.
 */
public final class LoadFeed implements RequestListener {
  private final LoadTracker tracker;
  private final LongSupplier millis;
  private final Map<String, String> groups = new ConcurrentHashMap<>();

  /**
   * @param millis the clock the planner rounds use, milliseconds
   */
  public LoadFeed(LoadTracker tracker, LongSupplier millis) {
    this.tracker = Objects.requireNonNull(tracker, "tracker");
    this.millis = Objects.requireNonNull(millis, "millis");
  }

  @Override
  public void arrived(String id, String group, int promptTokens) {
    groups.put(id, group);
    tracker.recordArrival(group, millis.getAsLong(), promptTokens);
  }

  @Override
  public void firstToken(String id, long ttftNanos) {
    String group = groups.get(id);
    if (group != null) {
      tracker.recordFirstToken(group, millis.getAsLong(), ttftNanos / 1e6);
    }
  }

  @Override
  public void finished(String id, long ttftNanos, long totalNanos, int outputTokens) {
    String group = groups.get(id);
    if (group == null) {
      return;
    }
    long now = millis.getAsLong();
    if (outputTokens > 1) {
      tracker.recordFinished(group, now, (totalNanos - ttftNanos) / 1e6 / (outputTokens - 1));
    }
  }

  @Override
  public void outputTokens(String id, int tokens) {
    String group = groups.get(id);
    if (group != null) {
      tracker.recordOutputTokens(group, millis.getAsLong(), tokens);
    }
  }

  @Override
  public void ended(String id) {
    groups.remove(id);
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
    return groups.size();
  }
}
