package dev.duet.controller.planner;

import dev.duet.controller.policy.PlannerSettings;
import java.util.ArrayDeque;

/**
 * One forecast series (say, a group's prompt tokens per second): a seasonal profile of {@code
 * buckets} phases over {@code period}, each an exponential average of the observations that fell in
 * it, read with linear interpolation between phase centres; plus a straight line fitted by least
 * squares to the last {@code trendWindow} residuals (observation minus profile), which carries
 * growth and level shifts the profile has not learnt yet. Until one full period has been observed
 * (or where a phase has no data yet) the forecast is the line fitted to the recent observations
 * themselves: their average plus their trend.
 *
 * <p>Not thread-safe; {@link Predictor} guards it.
 */
final class SeasonalSeries {
  /** How far one observation may pull its phase of the profile, as a factor. */
  static final double OUTLIER_FACTOR = 1.5;

  /**
   * Observations a trend needs: two, a second apart at a start, can make any slope (a service's
   * first requests forecast a flood).
   */
  static final int MIN_TREND_POINTS = 3;

  /** The share of pairwise slopes that must agree in sign before a trend is extrapolated. */
  static final double TREND_AGREEMENT = 0.8;

  private final long periodMillis;
  private final int buckets;
  private final double smoothing;
  private final int trendWindow;
  private final double[] profile;
  private final boolean[] seen;
  // recent observations, oldest first: {atMillis, value, residual (NaN before the profile knew)}
  private final ArrayDeque<double[]> recent = new ArrayDeque<>();
  private long firstMillis = Long.MIN_VALUE;
  private long lastMillis = Long.MIN_VALUE;

  SeasonalSeries(PlannerSettings.Predictor settings) {
    this.periodMillis = settings.periodSeconds() * 1000;
    this.buckets = settings.buckets();
    this.smoothing = settings.smoothing();
    this.trendWindow = settings.trendWindow();
    this.profile = new double[buckets];
    this.seen = new boolean[buckets];
  }

  /** Records {@code value} as the series' value at {@code atMillis} (non-decreasing times). */
  void observe(long atMillis, double value) {
    if (firstMillis == Long.MIN_VALUE) {
      firstMillis = atMillis;
    }
    lastMillis = Math.max(lastMillis, atMillis);
    double seasonal = seasonal(atMillis);
    recent.addLast(
        new double[] {atMillis, value, Double.isNaN(seasonal) ? Double.NaN : value - seasonal});
    if (recent.size() > trendWindow) {
      recent.removeFirst();
    }
    int b = bucket(atMillis);
    if (seen[b]) {
      // a burst moves its phase by at most half again (or a third less): it should not be learnt
      double bounded = Math.clamp(value, profile[b] / OUTLIER_FACTOR, profile[b] * OUTLIER_FACTOR);
      profile[b] = smoothing * bounded + (1 - smoothing) * profile[b];
    } else {
      profile[b] = value;
    }
    seen[b] = true;
  }

  /** The value expected at {@code atMillis}; 0 before any observation, never negative. */
  double forecast(long atMillis) {
    if (recent.isEmpty()) {
      return 0;
    }
    double seasonal = fullPeriodSeen() ? seasonal(atMillis) : Double.NaN;
    double f;
    if (Double.isNaN(seasonal)) {
      f = line(atMillis, 1);
    } else {
      double residual = line(atMillis, 2);
      f = seasonal + (Double.isNaN(residual) ? 0 : residual);
    }
    return Math.max(0, f);
  }

  /** Whether the observations span a whole period. */
  boolean fullPeriodSeen() {
    return firstMillis != Long.MIN_VALUE && lastMillis - firstMillis >= periodMillis;
  }

  /** The profile at {@code atMillis}, interpolated between phase centres; NaN where unknown. */
  private double seasonal(long atMillis) {
    double phase = Math.floorMod(atMillis, periodMillis) * (double) buckets / periodMillis - 0.5;
    int lo = (int) Math.floor(phase);
    double frac = phase - lo;
    int a = Math.floorMod(lo, buckets);
    int b = Math.floorMod(lo + 1, buckets);
    if (seen[a] && seen[b]) {
      return (1 - frac) * profile[a] + frac * profile[b];
    }
    return seen[a] && frac < 0.5 ? profile[a] : seen[b] && frac >= 0.5 ? profile[b] : Double.NaN;
  }

  private int bucket(long atMillis) {
    return (int) (Math.floorMod(atMillis, periodMillis) * buckets / periodMillis);
  }

  /**
   * The Theil-Sen line (median of pairwise slopes, median intercept: a burst or two in the window
   * does not tilt it) through the recent values (column 1) or residuals (column 2), evaluated at
   * {@code atMillis}; their median with a single point, NaN with none.
   */
  private double line(long atMillis, int column) {
    double[][] pts = recent.stream().filter(r -> !Double.isNaN(r[column])).toArray(double[][]::new);
    if (pts.length == 0) {
      return Double.NaN;
    }
    double[] slopes = new double[pts.length * (pts.length - 1) / 2];
    int k = 0;
    for (int i = 0; i < pts.length; i++) {
      for (int j = i + 1; j < pts.length; j++) {
        double dt = pts[j][0] - pts[i][0];
        slopes[k++] = dt > 0 ? (pts[j][column] - pts[i][column]) / dt : 0;
      }
    }
    double slope = k == 0 ? 0 : median(slopes);
    if (pts.length < MIN_TREND_POINTS || agreeing(slopes, slope) < TREND_AGREEMENT) {
      slope = 0; // the points wobble around a level rather than climb or fall
    }
    double[] at = new double[pts.length];
    for (int i = 0; i < pts.length; i++) {
      at[i] = pts[i][column] + slope * (atMillis - pts[i][0]);
    }
    return median(at);
  }

  /** The fraction of {@code slopes} with the sign of {@code slope}. */
  private static double agreeing(double[] slopes, double slope) {
    if (slopes.length == 0 || slope == 0) {
      return 0;
    }
    int same = 0;
    for (double s : slopes) {
      if (Math.signum(s) == Math.signum(slope)) {
        same++;
      }
    }
    return same / (double) slopes.length;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    java.util.Arrays.sort(s);
    int m = s.length / 2;
    return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
  }
}
