package dev.duet.controller.tidal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.duet.controller.planner.LoadTracker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LoadFeedTest {

  @Test
  void outputDemandCountsAtArrivalAsMaxTokensScaledByWhatRecentRequestsGenerated() {
    var tracker = new LoadTracker(Duration.ofSeconds(10));
    var now = new AtomicLong(100_000);
    var feed = new LoadFeed(tracker, now::get);
    feed.arrived("cmpl-1", "chat", 100, 64);
    // its whole answer counts on arrival: nothing ended yet, so all of max_tokens
    assertThat(tracker.group("chat", now.get(), 0.9).rates().outputTokensPerS())
        .isCloseTo(64 / 1.0, within(1e-9));
    feed.firstToken("cmpl-1", 50_000_000);
    now.addAndGet(5_000);
    // it stops at end of text after 16 of its 64
    feed.finished("cmpl-1", 50_000_000, 2_000_000_000L, 16);
    feed.ended("cmpl-1");
    assertThat(tracker.completionRatio("chat", now.get())).isCloseTo(0.25, within(1e-9));
    var chat = tracker.group("chat", now.get(), 0.9);
    assertThat(chat.tpot().samples()).isEqualTo(1);
    // the next arrival asking for 64 counts as the 16 its group's requests generate
    feed.arrived("cmpl-2", "chat", 100, 64);
    assertThat(tracker.group("chat", now.get(), 0.9).rates().outputTokensPerS())
        .isCloseTo((64 + 16) / 5.0, within(1e-9));
    // another group's ratio is its own
    feed.arrived("cmpl-3", "code", 900, 10);
    assertThat(tracker.group("code", now.get(), 0.9).rates().outputTokensPerS())
        .isCloseTo(10 / 1.0, within(1e-9));
    // a request already ended (or never seen) counts nowhere
    feed.finished("cmpl-1", 50_000_000, 2_000_000_000L, 64);
    assertThat(tracker.completionRatio("chat", now.get())).isCloseTo(0.25, within(1e-9));
    assertThat(feed.open()).isEqualTo(2);
  }

  @Test
  void theTtftThePlannerSeesLeavesOutAWaitForDecodeRoom() {
    var tracker = new LoadTracker(Duration.ofSeconds(10));
    var now = new AtomicLong(100_000);
    var feed = new LoadFeed(tracker, now::get);
    feed.arrived("cmpl-1", "chat", 1000, 64);
    // two waits: a decode instance refused it after the first (its report was stale)
    feed.waitedForRoom("cmpl-1", 1_000_000_000L);
    feed.waitedForRoom("cmpl-1", 500_000_000L);
    feed.firstToken("cmpl-1", 1_800_000_000L);
    feed.arrived("cmpl-2", "chat", 1000, 64);
    feed.firstToken("cmpl-2", 400_000_000L);
    // 1.5 s waiting for decode KV room in all is not slow prefill: 300 and 400 ms
    assertThat(tracker.group("chat", now.get(), 0.9).ttft().meanMs()).isCloseTo(350, within(1e-6));
  }
}
