package dev.duet.controller.events;

import java.time.Instant;
import java.util.Objects;

/**
 * One entry of the {@link EventLog}. Immutable.
 *
 * @param id position in the log: 1 for the first event, then increasing by one; a paging cursor
 * @param time when it was recorded (wall clock)
 * @param kind what happened
 * @param instance the instance it concerns, or null
 * @param request the request it concerns (the id the OpenAI response carries), or null
 * @param detail what happened, for a person (never null; may be empty)
 */
public record ClusterEvent(
    long id, Instant time, EventKind kind, String instance, String request, String detail) {

  public ClusterEvent {
    if (id < 1) {
      throw new IllegalArgumentException("event id must be >= 1, got " + id);
    }
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(detail, "detail");
  }
}
