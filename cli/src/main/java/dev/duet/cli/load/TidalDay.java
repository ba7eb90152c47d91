package dev.duet.cli.load;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * A compressed day of traffic whose volume and mix both swing: two peaks and two troughs per day,
 * the first peak prompt-heavy (long prompts, short answers: the Azure code trace), the second
 * output-heavy (short prompts, long answers: the Azure conversation trace), the mix moving smoothly
 * between them. With phase {@code φ = t / day}:
 *
 * <pre>
 * rate(t)       = peak · (trough + (1 − trough) · |sin 2πφ|)      requests/s
 * promptMix(t)  = (1 + sin 2πφ) / 2                                 share drawn from the prompt-heavy set
 * </pre>
 *
 * <p>Immutable; sampling takes the caller's random generator.
 *
 * @param daySeconds length of the compressed day
 * @param peakRate requests per second at a peak
 * @param trough the troughs' rate as a fraction of the peak, in [0, 1)
 * @param promptHeavy shapes of prompt-heavy traffic
 * @param outputHeavy shapes of output-heavy traffic
 */
public record TidalDay(
    double daySeconds, double peakRate, double trough, Workload promptHeavy, Workload outputHeavy) {

  /** Where the trace classes split: long prompts from the code trace, short from conversation. */
  public static final int LONG_PROMPT = 1024;

  public TidalDay {
    if (!(daySeconds > 0) || !(peakRate > 0) || !(trough >= 0 && trough < 1)) {
      throw new IllegalArgumentException(
          "a tidal day needs daySeconds > 0, peakRate > 0, trough in [0, 1); got "
              + daySeconds
              + ", "
              + peakRate
              + ", "
              + trough);
    }
    Objects.requireNonNull(promptHeavy, "promptHeavy");
    Objects.requireNonNull(outputHeavy, "outputHeavy");
  }

  /**
   * The Azure traces in {@code traces} when both are there, else synthetic ranges of the same
   * character. Prompt-heavy traffic is the code trace's requests with prompts of at least {@link
   * #LONG_PROMPT} tokens (62% of it; mean 3037 prompt, 28 output tokens); output-heavy traffic is
   * the conversation trace's with prompts of at most that (51% of it; mean 460 prompt, 158 output
   * tokens). Whole traces mix both kinds (the conversation trace's mean prompt is 1155 tokens), so
   * a peak drawn from a whole trace is less prompt- or output-heavy than its name says.
   */
  public static TidalDay of(double daySeconds, double peakRate, double trough, Path traces) {
    Path code = traces.resolve("azure-llm-2023-code.csv");
    Path conv = traces.resolve("azure-llm-2023-conv.csv");
    if (Files.isReadable(code) && Files.isReadable(conv)) {
      return new TidalDay(
          daySeconds,
          peakRate,
          trough,
          Workload.trace("azure-code", code).prompts(LONG_PROMPT, Integer.MAX_VALUE),
          Workload.trace("azure-conv", conv).prompts(1, LONG_PROMPT));
    }
    return new TidalDay(
        daySeconds,
        peakRate,
        trough,
        Workload.uniform("prompt-heavy", 1024, 4096, 8, 32),
        Workload.uniform("output-heavy", 64, 512, 128, 512));
  }

  /** Requests per second at {@code t} seconds into the day. */
  public double rate(double t) {
    return peakRate * (trough + (1 - trough) * Math.abs(Math.sin(2 * Math.PI * t / daySeconds)));
  }

  /** The share of prompt-heavy requests at {@code t}, in [0, 1]. */
  public double promptMix(double t) {
    return (1 + Math.sin(2 * Math.PI * t / daySeconds)) / 2;
  }

  /** A request arriving at {@code t}, capped to a context of {@code context} tokens. */
  public Workload.Shape sample(double t, RandomGenerator random, int context) {
    Workload w = random.nextDouble() < promptMix(t) ? promptHeavy : outputHeavy;
    return w.sample(random, context);
  }

  /**
   * Seconds from {@code t} to the next arrival (a Poisson process whose rate follows the day,
   * sampled by thinning against the peak rate).
   */
  public double nextGap(double t, RandomGenerator random) {
    double at = t;
    do {
      at += -Math.log(1 - random.nextDouble()) / peakRate;
    } while (random.nextDouble() * peakRate > rate(at));
    return at - t;
  }
}
