package dev.duet.controller.tidal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.duet.controller.planner.LoadTracker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LoadFeedTest {

  @Test
  void outputTokensCountAsTheyStreamNotAgainWhenTheRequestEnds() {
    var tracker = new LoadTracker(Duration.ofSeconds(10));
    var now = new AtomicLong(100_000);
    var feed = new LoadFeed(tracker, now::get);
    feed.arrived("cmpl-1", "chat", 100);
    feed.firstToken("cmpl-1", 50_000_000);
    now.addAndGet(5_000);
    feed.outputTokens("cmpl-1", 8);
    feed.outputTokens("cmpl-1", 8);
    // halfway through a 64-token answer its tokens so far already count
    assertThat(tracker.group("chat", now.get(), 0.9).rates().outputTokensPerS())
        .isCloseTo(16 / 5.0, within(1e-9));
    now.addAndGet(5_000);
    feed.outputTokens("cmpl-1", 48);
    feed.finished("cmpl-1", 50_000_000, 9_000_000_000L, 64);
    feed.ended("cmpl-1");
    var chat = tracker.group("chat", now.get(), 0.9);
    assertThat(chat.rates().outputTokensPerS()).isCloseTo(64 / 10.0, within(1e-9));
    assertThat(chat.tpot().samples()).isEqualTo(1);
    // tokens of a request already ended (or never seen) count nowhere
    feed.outputTokens("cmpl-1", 8);
    assertThat(tracker.group("chat", now.get(), 0.9).rates().outputTokensPerS())
        .isCloseTo(6.4, within(1e-9));
  }
}
