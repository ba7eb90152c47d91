package dev.duet.controller.planner;

/**
 * A scenario group's load over some window, or forecast for one. Immutable.
 *
 * @param arrivalsPerS requests arriving per second
 * @param promptTokensPerS prompt tokens arriving per second (prefill demand)
 * @param outputTokensPerS output tokens generated per second (decode demand)
 */
public record LoadRates(double arrivalsPerS, double promptTokensPerS, double outputTokensPerS) {
  public static final LoadRates ZERO = new LoadRates(0, 0, 0);

  public LoadRates {
    if (!(arrivalsPerS >= 0) || !(promptTokensPerS >= 0) || !(outputTokensPerS >= 0)) {
      throw new IllegalArgumentException(
          "rates must be finite and >= 0, got "
              + arrivalsPerS
              + ", "
              + promptTokensPerS
              + ", "
              + outputTokensPerS);
    }
  }

  /** Whether any traffic flows. */
  public boolean flowing() {
    return arrivalsPerS > 0 || promptTokensPerS > 0 || outputTokensPerS > 0;
  }

  /** Prompt tokens per request, 0 without arrivals. */
  public double meanPromptTokens() {
    return arrivalsPerS > 0 ? promptTokensPerS / arrivalsPerS : 0;
  }

  /** Output tokens per request, 0 without arrivals. */
  public double meanOutputTokens() {
    return arrivalsPerS > 0 ? outputTokensPerS / arrivalsPerS : 0;
  }

  @Override
  public String toString() {
    return String.format(
        "%.2f req/s, %.0f prompt tok/s, %.0f output tok/s",
        arrivalsPerS, promptTokensPerS, outputTokensPerS);
  }
}
