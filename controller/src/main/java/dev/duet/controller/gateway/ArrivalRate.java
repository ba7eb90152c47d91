package dev.duet.controller.gateway;

import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Requests per second over a sliding window of whole seconds: a ring of per-second counts, the
 * current (partial) second excluded so the rate does not dip at each second's start.
 *
 * <p>Threading: synchronized; O(1) per arrival.
 */
public final class ArrivalRate {

  private static final long SECOND = 1_000_000_000L;

  private final LongSupplier nanoClock;
  private final long[] counts;

  /** The second (nanos / 1e9) each slot of {@link #counts} counts; -1: never used. */
  private final long[] seconds;

  /**
   * @param nanoClock monotonic clock in nanoseconds
   * @param windowSeconds seconds averaged over, 1 or more
   */
  public ArrivalRate(LongSupplier nanoClock, int windowSeconds) {
    if (windowSeconds < 1) {
      throw new IllegalArgumentException("windowSeconds must be >= 1, got " + windowSeconds);
    }
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    this.counts = new long[windowSeconds + 1];
    this.seconds = new long[windowSeconds + 1];
    java.util.Arrays.fill(seconds, -1);
  }

  /** Counts one arrival now. */
  public synchronized void mark() {
    long s = Math.floorDiv(nanoClock.getAsLong(), SECOND);
    int slot = (int) Math.floorMod(s, counts.length);
    if (seconds[slot] != s) {
      seconds[slot] = s;
      counts[slot] = 0;
    }
    counts[slot]++;
  }

  /** Arrivals per second over the last {@code windowSeconds} complete seconds. */
  public synchronized double perSecond() {
    long now = Math.floorDiv(nanoClock.getAsLong(), SECOND);
    int window = counts.length - 1;
    long sum = 0;
    for (int i = 0; i < counts.length; i++) {
      if (seconds[i] >= now - window && seconds[i] < now) {
        sum += counts[i];
      }
    }
    return (double) sum / window;
  }
}
