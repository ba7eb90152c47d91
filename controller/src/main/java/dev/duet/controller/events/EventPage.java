package dev.duet.controller.events;

import java.util.List;

/**
 * A page of events. Immutable.
 *
 * @param events the events after the cursor asked for, oldest first
 * @param next the cursor for the following page: the id of the last event here, or the cursor asked
 *     for when the page is empty
 * @param more whether events after {@code next} exist already
 * @param dropped events after the cursor asked for that the bounded log no longer holds (they were
 *     evicted before anyone read them); 0 normally
 */
public record EventPage(List<ClusterEvent> events, long next, boolean more, long dropped) {

  public EventPage {
    events = List.copyOf(events);
    if (next < 0 || dropped < 0) {
      throw new IllegalArgumentException(
          "next and dropped must be >= 0, got " + next + " and " + dropped);
    }
  }
}
