package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ArrivalRateTest {

  private static final long SECOND = 1_000_000_000L;

  @Test
  void theRateAveragesTheLastCompleteSecondsAndForgetsOlderOnes() {
    AtomicLong now = new AtomicLong(100 * SECOND);
    ArrivalRate rate = new ArrivalRate(now::get, 4);
    for (int s = 0; s < 4; s++) {
      for (int i = 0; i < 10; i++) {
        rate.mark();
      }
      now.addAndGet(SECOND);
    }
    rate.mark(); // the current second does not count yet
    assertThat(rate.perSecond()).isEqualTo(10.0);
    now.addAndGet(2 * SECOND); // two quiet seconds: the first two busy ones left the window
    assertThat(rate.perSecond()).isEqualTo((10 + 10 + 1) / 4.0);
    now.addAndGet(10 * SECOND);
    assertThat(rate.perSecond()).isZero();
  }
}
