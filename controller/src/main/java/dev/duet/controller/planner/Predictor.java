package dev.duet.controller.planner;

import dev.duet.controller.policy.PlannerSettings;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Forecasts each scenario group's load for the next planning interval: per group, one {@link
 * SeasonalSeries} for each of arrivals, prompt tokens and output tokens per second (seasonal
 * profile over a configurable period plus a linear trend; the recent average plus trend before a
 * full period is seen). Feed it one observation per interval (the rates the {@link LoadTracker}
 * measured), and ask for the rates at any time ahead.
 *
 * <p>Thread-safe (synchronized); a new policy's predictor settings need a new predictor.
 */
public final class Predictor {
  private final PlannerSettings.Predictor settings;
  private final Map<String, Series> groups = new HashMap<>();

  public Predictor(PlannerSettings.Predictor settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  public PlannerSettings.Predictor settings() {
    return settings;
  }

  /**
   * Records what {@code group} did around {@code atMillis} (the middle of the window the rates were
   * measured over). Times must not go backwards per group.
   */
  public synchronized void observe(String group, long atMillis, LoadRates rates) {
    Series s = groups.computeIfAbsent(group, g -> new Series(settings));
    s.arrivals.observe(atMillis, rates.arrivalsPerS());
    s.prompt.observe(atMillis, rates.promptTokensPerS());
    s.output.observe(atMillis, rates.outputTokensPerS());
  }

  /**
   * The rates {@code group} is expected to have at {@code atMillis}; zero for a group never seen.
   */
  public synchronized LoadRates forecast(String group, long atMillis) {
    Series s = groups.get(group);
    if (s == null) {
      return LoadRates.ZERO;
    }
    return new LoadRates(
        s.arrivals.forecast(atMillis), s.prompt.forecast(atMillis), s.output.forecast(atMillis));
  }

  /** Whether {@code group} has been observed for a whole period (its forecast is seasonal). */
  public synchronized boolean seasonal(String group) {
    Series s = groups.get(group);
    return s != null && s.arrivals.fullPeriodSeen();
  }

  private static final class Series {
    final SeasonalSeries arrivals;
    final SeasonalSeries prompt;
    final SeasonalSeries output;

    Series(PlannerSettings.Predictor settings) {
      arrivals = new SeasonalSeries(settings);
      prompt = new SeasonalSeries(settings);
      output = new SeasonalSeries(settings);
    }
  }
}
