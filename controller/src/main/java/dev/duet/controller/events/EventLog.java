package dev.duet.controller.events;

/**
 * The cluster's event log: role flips, scalings, migrations, rejections, cordons, drains,
 * recoveries, instances joining and dying. Components record into it as things happen; the operator
 * API pages through it ({@code GET /admin/v1/events}).
 *
 * <p>A seam for the shared cluster state: {@link InMemoryEventLog} is the one-controller
 * implementation; a Hazelcast-backed one can replace it without touching the recorders.
 * Implementations are thread-safe and bounded (old events are evicted).
 */
public interface EventLog {

  /**
   * Appends an event.
   *
   * @param instance the instance it concerns, or null
   * @param request the request it concerns, or null
   * @param detail what happened, for a person
   * @return the event as stored, with its id and time
   */
  ClusterEvent record(EventKind kind, String instance, String request, String detail);

  /**
   * The events with an id greater than {@code after}, oldest first, at most {@code limit}.
   *
   * @param after a cursor: 0 for the start, else a {@link EventPage#next()}
   * @param limit 1 or more
   */
  EventPage page(long after, int limit);

  /** The id of the newest event, 0 when none was recorded. */
  long lastId();
}
