package dev.duet.controller.policy;

import java.util.Objects;

/**
 * How the tidal planner runs. Immutable. See {@code docs/planner.md} for how each number is used.
 *
 * @param intervalSeconds seconds between planning rounds (one forecast, one decision)
 * @param maxUtilization the most of an instance's measured capacity the plan may use, in (0, 1)
 * @param predictor the load predictor
 * @param hysteresisBand a role shrinks only when the smaller count would still have this fraction
 *     of headroom, in [0, 1)
 * @param cooldowns minimum spacing of flips and scaling
 * @param maxFlipsPerInterval role flips one decision may order, cluster-wide, {@code >= 1}
 * @param correction bounds on the observed-vs-expected latency correction
 * @param defaultCapacity per-instance capacity assumed until workers report a measured one
 */
public record PlannerSettings(
    int intervalSeconds,
    double maxUtilization,
    Predictor predictor,
    double hysteresisBand,
    Cooldowns cooldowns,
    int maxFlipsPerInterval,
    Correction correction,
    Capacity defaultCapacity) {

  public static final PlannerSettings DEFAULTS =
      new PlannerSettings(
          30,
          0.85,
          Predictor.DEFAULTS,
          0.2,
          Cooldowns.DEFAULTS,
          2,
          Correction.DEFAULTS,
          Capacity.DEFAULTS);

  public PlannerSettings {
    Objects.requireNonNull(predictor, "predictor");
    Objects.requireNonNull(cooldowns, "cooldowns");
    Objects.requireNonNull(correction, "correction");
    Objects.requireNonNull(defaultCapacity, "defaultCapacity");
    if (intervalSeconds < 1
        || !(maxUtilization > 0 && maxUtilization < 1)
        || !(hysteresisBand >= 0 && hysteresisBand < 1)
        || maxFlipsPerInterval < 1) {
      throw new IllegalArgumentException(
          "planner needs intervalSeconds >= 1, maxUtilization in (0, 1), hysteresis band in"
              + " [0, 1), maxFlipsPerInterval >= 1; got "
              + intervalSeconds
              + ", "
              + maxUtilization
              + ", "
              + hysteresisBand
              + ", "
              + maxFlipsPerInterval);
    }
  }

  public long intervalMillis() {
    return intervalSeconds * 1000L;
  }

  /**
   * The seasonal predictor.
   *
   * @param periodSeconds length of one season (a day in production; minutes in tests)
   * @param buckets phases the period is cut into, {@code >= 2}
   * @param smoothing weight of a new observation in its bucket's exponential average, (0, 1]
   * @param trendWindow recent intervals the linear trend is fitted over, {@code >= 2}
   */
  public record Predictor(long periodSeconds, int buckets, double smoothing, int trendWindow) {
    public static final Predictor DEFAULTS = new Predictor(86_400, 96, 0.5, 6);

    public Predictor {
      if (periodSeconds < 1
          || buckets < 2
          || !(smoothing > 0 && smoothing <= 1)
          || trendWindow < 2) {
        throw new IllegalArgumentException(
            "predictor needs periodSeconds >= 1, buckets >= 2, smoothing in (0, 1],"
                + " trendWindow >= 2; got "
                + periodSeconds
                + ", "
                + buckets
                + ", "
                + smoothing
                + ", "
                + trendWindow);
      }
    }
  }

  /**
   * @param flipSeconds an instance flips again, and a group flips the other way, only this long
   *     after its last flip
   * @param scaleSeconds a group scales (up or down) only this long after its last scaling
   */
  public record Cooldowns(long flipSeconds, long scaleSeconds) {
    public static final Cooldowns DEFAULTS = new Cooldowns(60, 300);

    public Cooldowns {
      if (flipSeconds < 0 || scaleSeconds < 0) {
        throw new IllegalArgumentException(
            "cooldowns must be >= 0, got " + flipSeconds + ", " + scaleSeconds);
      }
    }
  }

  /**
   * @param min the smallest correction factor, in (0, 1]
   * @param max the largest, {@code >= 1}
   * @param minSamples latency samples a window needs before its correction is used
   */
  public record Correction(double min, double max, int minSamples) {
    public static final Correction DEFAULTS = new Correction(0.5, 1.5, 20);

    public Correction {
      if (!(min > 0 && min <= 1) || !(max >= 1) || minSamples < 1) {
        throw new IllegalArgumentException(
            "correction needs min in (0, 1], max >= 1, minSamples >= 1; got "
                + min
                + ", "
                + max
                + ", "
                + minSamples);
      }
    }

    public double clamp(double c) {
      return Math.clamp(c, min, max);
    }
  }

  /**
   * @param prefillTokensPerS prompt tokens one prefill instance computes per second
   * @param decodeTokensPerS output tokens one decode instance generates per second, all streams
   * @param maxBatch streams one decode instance runs at once
   */
  public record Capacity(double prefillTokensPerS, double decodeTokensPerS, int maxBatch) {
    public static final Capacity DEFAULTS = new Capacity(2000, 400, 32);

    public Capacity {
      if (!(prefillTokensPerS > 0) || !(decodeTokensPerS > 0) || maxBatch < 1) {
        throw new IllegalArgumentException(
            "capacity needs tokens/s > 0 and maxBatch >= 1; got "
                + prefillTokensPerS
                + ", "
                + decodeTokensPerS
                + ", "
                + maxBatch);
      }
    }
  }
}
