package dev.duet.controller.gateway;

import java.util.Arrays;

/**
 * Time to first token and time per output token of the requests that finished since the last {@link
 * #drain}, for percentiles over one sampling interval (the dashboard's history). Each series keeps
 * at most {@code capacity} values per interval: past that, the newest overwrite the oldest, so a
 * burst costs bounded memory and the percentiles describe the interval's latest requests.
 *
 * <p>Threading: synchronized; {@link #record} is O(1), {@link #drain} sorts one interval's values.
 */
public final class LatencyWindow {

  /** Percentiles of one series over one interval, in milliseconds; NaN when {@code count} is 0. */
  public record Percentiles(long count, double p50Ms, double p99Ms) {
    public static final Percentiles NONE = new Percentiles(0, Double.NaN, Double.NaN);

    public Percentiles {
      if (count < 0) {
        throw new IllegalArgumentException("count must be >= 0, got " + count);
      }
    }
  }

  /** What one interval gave. */
  public record Interval(Percentiles ttft, Percentiles tpot) {}

  private final Series ttft;
  private final Series tpot;

  /**
   * @param capacity values kept per series and interval, 1 or more
   */
  public LatencyWindow(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
    }
    ttft = new Series(capacity);
    tpot = new Series(capacity);
  }

  /** A finished request's time to first token; its time per output token, or -1 for none. */
  public synchronized void record(long ttftNanos, long tpotNanos) {
    ttft.add(ttftNanos);
    if (tpotNanos >= 0) {
      tpot.add(tpotNanos);
    }
  }

  /** The percentiles since the last drain; starts the next interval. */
  public synchronized Interval drain() {
    return new Interval(ttft.drain(), tpot.drain());
  }

  private static final class Series {
    /** Nanoseconds; the first {@code min(count, length)} slots are this interval's. */
    private final long[] values;

    private long count;

    Series(int capacity) {
      values = new long[capacity];
    }

    void add(long nanos) {
      values[(int) (count % values.length)] = nanos;
      count++;
    }

    Percentiles drain() {
      if (count == 0) {
        return Percentiles.NONE;
      }
      long[] sorted = Arrays.copyOf(values, (int) Math.min(count, values.length));
      Arrays.sort(sorted);
      Percentiles p = new Percentiles(count, rank(sorted, 0.50), rank(sorted, 0.99));
      count = 0;
      return p;
    }

    /** Nearest-rank percentile, in milliseconds. */
    private static double rank(long[] sorted, double q) {
      int i = (int) Math.ceil(q * sorted.length) - 1;
      return sorted[Math.clamp(i, 0, sorted.length - 1)] / 1e6;
    }
  }
}
