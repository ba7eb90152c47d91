package dev.duet.controller.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.duet.controller.policy.PlannerSettings;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PredictorTest {
  // A day compressed into 8 minutes, planned every 10 s: 48 intervals a period, 24 phases.
  static final long PERIOD_S = 480;
  static final long INTERVAL_MS = 10_000;
  static final PlannerSettings.Predictor SETTINGS =
      new PlannerSettings.Predictor(PERIOD_S, 24, 0.5, 6);

  /**
   * The synthetic tide: 100 req/s swinging ±60% over the period, growing 10% a period, with 5%
   * Gaussian noise and, in 5% of intervals, a burst that doubles the load.
   */
  static double tide(long atMillis, SplittableRandom random) {
    double t = atMillis / (PERIOD_S * 1000.0);
    double base = 100 * (1 + 0.1 * t) * (1 + 0.6 * Math.sin(2 * Math.PI * t));
    double noise = 1 + 0.05 * random.nextGaussian();
    double burst = random.nextDouble() < 0.05 ? 2 : 1;
    return base * noise * burst;
  }

  record Errors(double predictor, double naive) {}

  /**
   * Feeds {@code periods} periods of the tide; the MAPE of one-interval-ahead forecasts over the
   * last.
   */
  static Errors mapeOverLastPeriod(int periods, long seed) {
    return mapeOverLastPeriod(periods, seed, SETTINGS);
  }

  static Errors mapeOverLastPeriod(int periods, long seed, PlannerSettings.Predictor settings) {
    var random = new SplittableRandom(seed);
    var predictor = new Predictor(settings);
    long perPeriod = PERIOD_S * 1000 / INTERVAL_MS;
    double sumP = 0;
    double sumN = 0;
    int n = 0;
    double last = Double.NaN;
    for (long i = 0; i < periods * perPeriod; i++) {
      long at = i * INTERVAL_MS;
      double actual = tide(at, random);
      if (i >= (periods - 1) * perPeriod) {
        double forecast = predictor.forecast("g", at).arrivalsPerS();
        sumP += Math.abs(forecast - actual) / actual;
        sumN += Math.abs(last - actual) / actual;
        n++;
      }
      predictor.observe("g", at, new LoadRates(actual, 10 * actual, 2 * actual));
      last = actual;
    }
    return new Errors(sumP / n, sumN / n);
  }

  /**
   * The bound: 5% Gaussian noise alone costs a perfect model E|N(0, 0.05)| = 4% MAPE, and the
   * bursts (5% of intervals, off by half of the doubled value) another 2.5%, so ~6.5% is the floor.
   * Phase interpolation and a trend over six noisy points add a few percent; 12% on average (16%
   * for any one seed) leaves room for that and fails on a profile that has not learnt the tide (the
   * naive predictor scores 13-17% here).
   */
  @Test
  void afterOnePeriodItForecastsASyntheticTideWithinTwelvePercentAndBeatsTheLastValue() {
    for (int periods : new int[] {2, 3}) {
      double sum = 0;
      for (long seed = 1; seed <= 8; seed++) {
        Errors e = mapeOverLastPeriod(periods, seed);
        assertThat(e.predictor()).as("seed %d, period %d: %s", seed, periods, e).isLessThan(0.16);
        assertThat(e.predictor()).as("seed %d, period %d", seed, periods).isLessThan(e.naive());
        sum += e.predictor();
      }
      assertThat(sum / 8).as("mean MAPE over period %d", periods).isLessThan(0.12);
    }
  }

  @Test
  void beforeAFullPeriodItForecastsTheRecentAverage() {
    var predictor = new Predictor(SETTINGS);
    var random = new SplittableRandom(3);
    for (long i = 0; i < 20; i++) {
      predictor.observe(
          "g", i * INTERVAL_MS, new LoadRates(50 + random.nextDouble(-2, 2), 500, 100));
    }
    assertThat(predictor.seasonal("g")).isFalse();
    assertThat(predictor.forecast("g", 20 * INTERVAL_MS).arrivalsPerS()).isBetween(48.0, 52.0);
    assertThat(predictor.forecast("g", 20 * INTERVAL_MS).promptTokensPerS()).isEqualTo(500);
  }

  @Test
  void aRampTheProfileHasNeverSeenIsFollowedByTheTrend() {
    var predictor = new Predictor(SETTINGS);
    long perPeriod = PERIOD_S * 1000 / INTERVAL_MS;
    long i = 0;
    for (; i < 2 * perPeriod; i++) {
      predictor.observe("g", i * INTERVAL_MS, new LoadRates(100, 1000, 200));
    }
    assertThat(predictor.seasonal("g")).isTrue();
    double value = 100;
    for (int step = 0; step < 12; step++, i++) {
      value *= 1.05;
      predictor.observe("g", i * INTERVAL_MS, new LoadRates(value, 10 * value, 2 * value));
    }
    double next = value * 1.05;
    double forecast = predictor.forecast("g", i * INTERVAL_MS).arrivalsPerS();
    // the profile alone says 100, the last value says 5% low; the trend gets within 2%
    assertThat(Math.abs(forecast - next) / next).isLessThan(0.02);
  }

  @Test
  void twoObservationsAtAStartDoNotMakeATrend() {
    var predictor = new Predictor(SETTINGS);
    predictor.observe("g", 1_000, new LoadRates(2, 200, 20));
    predictor.observe("g", 2_500, new LoadRates(3, 300, 30));
    // a line through two points would forecast 7 req/s ten seconds on
    assertThat(predictor.forecast("g", 12_500).arrivalsPerS()).isCloseTo(2.5, within(1e-9));
    predictor.observe("g", 4_000, new LoadRates(4, 400, 40));
    assertThat(predictor.forecast("g", 5_500).arrivalsPerS()).isCloseTo(5, within(1e-9));
  }

  @Test
  void aGroupNeverSeenIsForecastIdle() {
    assertThat(new Predictor(SETTINGS).forecast("nobody", 0)).isEqualTo(LoadRates.ZERO);
  }

  /**
   * {@code duet bench tidal}'s day: 3 minutes, peaks of 14 req/s at a quarter and three quarters
   * ({@code |sin|} over a trough of 15%), observed every 5 s over a 10-s window with 10% noise (a
   * 10-s window of Poisson arrivals at 10 req/s has 10%); the mean error of forecasts 2.5 to 7.5 s
   * ahead (the planning horizon) over the second day.
   */
  static double compressedTideError(int trendWindow, long seed) {
    double day = 180;
    java.util.function.DoubleUnaryOperator rate =
        t -> 14 * (0.15 + 0.85 * Math.abs(Math.sin(2 * Math.PI * t / day)));
    var predictor = new Predictor(new PlannerSettings.Predictor(180, 30, 0.5, trendWindow));
    var random = new SplittableRandom(seed);
    double sum = 0;
    int n = 0;
    for (double now = 10 + random.nextDouble(5); now < 2 * day; now += 5) {
      double mean = 0;
      for (int k = 0; k < 100; k++) {
        mean += rate.applyAsDouble(now - 10 + (k + 0.5) / 10) / 100;
      }
      double observed = mean * (1 + 0.1 * random.nextGaussian());
      predictor.observe("g", Math.round((now - 5) * 1000), new LoadRates(observed, 0, 0));
      if (now > day + 10) {
        for (double ahead = 2.5; ahead <= 7.5; ahead += 2.5) {
          double truth = rate.applyAsDouble(now + ahead);
          double f = predictor.forecast("g", Math.round((now + ahead) * 1000)).arrivalsPerS();
          sum += Math.abs(f - truth) / truth;
          n++;
        }
      }
    }
    return sum / n;
  }

  @Test
  void benchTidalsNoisyCompressedDayIsForecastBetterWithATrendOverEightObservationsThanFour() {
    double four = 0;
    double eight = 0;
    for (long seed = 1; seed <= 20; seed++) {
      four += compressedTideError(4, seed) / 20;
      eight += compressedTideError(8, seed) / 20;
    }
    // four noisy residuals make a trend that, extrapolated, swings the forecast (why the bench's
    // policy takes eight)
    assertThat(eight).as("trend window 8").isLessThan(0.13);
    assertThat(four).as("trend window 4").isGreaterThan(1.3 * eight);
  }
}
