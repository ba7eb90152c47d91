package dev.duet.controller.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.InstantSource;
import org.junit.jupiter.api.Test;

class InMemoryEventLogTest {

  private final Instant t0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void eventsGetConsecutiveIdsTheClocksTimeAndTheirFields() {
    InMemoryEventLog log = new InMemoryEventLog(10, InstantSource.fixed(t0));
    ClusterEvent a = log.record(EventKind.CORDON, "d1", null, "cordoned");
    ClusterEvent b = log.record(EventKind.REJECTION, null, "cmpl-1", null);
    assertThat(a.id()).isEqualTo(1);
    assertThat(b.id()).isEqualTo(2);
    assertThat(a.time()).isEqualTo(t0);
    assertThat(a.instance()).isEqualTo("d1");
    assertThat(b.request()).isEqualTo("cmpl-1");
    assertThat(b.detail()).isEmpty();
    assertThat(log.lastId()).isEqualTo(2);
  }

  @Test
  void pagesFollowTheNextCursorUntilNothingIsLeft() {
    InMemoryEventLog log = new InMemoryEventLog(100, InstantSource.fixed(t0));
    for (int i = 0; i < 7; i++) {
      log.record(EventKind.SCALE, "i" + i, null, "");
    }
    EventPage p1 = log.page(0, 3);
    assertThat(p1.events()).extracting(ClusterEvent::id).containsExactly(1L, 2L, 3L);
    assertThat(p1.next()).isEqualTo(3);
    assertThat(p1.more()).isTrue();
    EventPage p2 = log.page(p1.next(), 3);
    assertThat(p2.events()).extracting(ClusterEvent::id).containsExactly(4L, 5L, 6L);
    EventPage p3 = log.page(p2.next(), 3);
    assertThat(p3.events()).extracting(ClusterEvent::id).containsExactly(7L);
    assertThat(p3.more()).isFalse();
    EventPage empty = log.page(p3.next(), 3);
    assertThat(empty.events()).isEmpty();
    assertThat(empty.next()).as("an empty page keeps the cursor").isEqualTo(7);
    log.record(EventKind.SCALE, null, null, "later");
    assertThat(log.page(empty.next(), 3).events()).extracting(ClusterEvent::id).containsExactly(8L);
  }

  @Test
  void aFullLogEvictsTheOldestAndTellsALateReaderHowManyItMissed() {
    InMemoryEventLog log = new InMemoryEventLog(3, InstantSource.fixed(t0));
    for (int i = 0; i < 5; i++) {
      log.record(EventKind.SCALE, null, null, "e" + (i + 1));
    }
    EventPage p = log.page(0, 10);
    assertThat(p.events()).extracting(ClusterEvent::id).containsExactly(3L, 4L, 5L);
    assertThat(p.dropped()).isEqualTo(2);
    assertThat(log.page(3, 10).dropped()).isZero();
    assertThat(log.page(3, 10).events()).extracting(ClusterEvent::id).containsExactly(4L, 5L);
  }

  @Test
  void badCursorsAndCapacitiesAreRefusedByName() {
    InMemoryEventLog log = new InMemoryEventLog(3, InstantSource.fixed(t0));
    assertThatThrownBy(() -> log.page(-1, 1)).hasMessageContaining("after");
    assertThatThrownBy(() -> log.page(0, 0)).hasMessageContaining("limit");
    assertThatThrownBy(() -> new InMemoryEventLog(0, InstantSource.fixed(t0)))
        .hasMessageContaining("capacity");
    assertThat(log.page(99, 5).next()).as("a cursor past the end is clamped").isZero();
  }
}
