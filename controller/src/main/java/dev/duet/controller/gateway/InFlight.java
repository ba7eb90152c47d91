package dev.duet.controller.gateway;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The requests the controller is serving, by the id their OpenAI answer carries ({@code cmpl-…},
 * {@code chatcmpl-…}): what the operator API, the rebalancer and draining look up.
 *
 * <p>Threading: thread-safe.
 */
public final class InFlight {

  private final Map<String, RequestSession> sessions = new ConcurrentHashMap<>();

  void add(RequestSession s) {
    sessions.put(s.id, s);
    s.stream.onDone(() -> sessions.remove(s.id, s));
  }

  Optional<RequestSession> find(String id) {
    return Optional.ofNullable(sessions.get(id));
  }

  /** Requests streaming from {@code instance}, shortest-running first (cheapest to move). */
  List<RequestSession> on(String instance) {
    return sessions.values().stream()
        .filter(s -> instance.equals(s.instance()))
        .sorted(Comparator.comparingInt(s -> s.prompt.length + s.generated()))
        .toList();
  }

  /** How many requests are streaming from {@code instance} now. */
  public int streamingFrom(String instance) {
    return on(instance).size();
  }

  /** Requests in flight. */
  public int size() {
    return sessions.size();
  }
}
