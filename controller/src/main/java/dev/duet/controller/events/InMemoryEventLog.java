package dev.duet.controller.events;

import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An {@link EventLog} in this process's memory: a ring of the newest {@code capacity} events. When
 * it is full the oldest event goes; a reader whose cursor fell behind is told how many it missed
 * ({@link EventPage#dropped()}).
 *
 * <p>Threading: every method is synchronized; recording is O(1), a page O(capacity) at worst.
 */
public final class InMemoryEventLog implements EventLog {

  /** Events kept by default: at ~200 bytes each, a few MB at most. */
  public static final int DEFAULT_CAPACITY = 10_000;

  private final int capacity;
  private final InstantSource clock;
  private final ArrayDeque<ClusterEvent> events = new ArrayDeque<>();
  private long lastId;

  /**
   * @param capacity the most events kept, 1 or more
   * @param clock the wall clock event times come from
   */
  public InMemoryEventLog(int capacity, InstantSource clock) {
    if (capacity < 1) {
      throw new IllegalArgumentException("event log capacity must be >= 1, got " + capacity);
    }
    this.capacity = capacity;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** A log of {@link #DEFAULT_CAPACITY} events on the system clock. */
  public static InMemoryEventLog withDefaults() {
    return new InMemoryEventLog(DEFAULT_CAPACITY, InstantSource.system());
  }

  @Override
  public synchronized ClusterEvent record(
      EventKind kind, String instance, String request, String detail) {
    ClusterEvent e =
        new ClusterEvent(
            lastId + 1, clock.instant(), kind, instance, request, detail == null ? "" : detail);
    lastId = e.id();
    if (events.size() == capacity) {
      events.removeFirst();
    }
    events.addLast(e);
    return e;
  }

  @Override
  public synchronized EventPage page(long after, int limit) {
    if (after < 0 || limit < 1) {
      throw new IllegalArgumentException(
          "after must be >= 0 and limit >= 1, got after " + after + ", limit " + limit);
    }
    long oldest = events.isEmpty() ? lastId + 1 : events.peekFirst().id();
    long dropped = Math.max(0, oldest - 1 - after);
    List<ClusterEvent> out = new ArrayList<>(Math.min(limit, events.size()));
    // Ids are consecutive, so the first wanted event is the (after + 1 - oldest)-th held.
    long skip = Math.max(0, after + 1 - oldest);
    var it = events.iterator();
    for (long i = 0; i < skip && it.hasNext(); i++) {
      it.next();
    }
    while (it.hasNext() && out.size() < limit) {
      out.add(it.next());
    }
    long next = out.isEmpty() ? Math.min(after, lastId) : out.getLast().id();
    return new EventPage(out, next, next < lastId, dropped);
  }

  @Override
  public synchronized long lastId() {
    return lastId;
  }
}
