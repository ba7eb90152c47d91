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
   * Which requests make the output-heavy peak. The prompt-heavy peak is always the code trace's
   * requests with prompts of at least {@link #LONG_PROMPT} tokens (62% of it; mean 3037 prompt, 28
   * output tokens). Whole traces mix both kinds (the conversation trace's mean prompt is 1155
   * tokens), so a peak drawn from a whole trace is less prompt- or output-heavy than its name says.
   */
  public enum OutputHeavy {
    /**
     * The conversation trace's requests with prompts of at most {@link #LONG_PROMPT} tokens (51% of
     * it; mean 460 prompt, 158 output tokens): short chat turns, whose decode an instance batches
     * by the hundred, so they move the prefill need more than the decode need.
     */
    SHORT_PROMPTS("short-prompts"),
    /**
     * The conversation trace's requests with answers of at least {@link #LONG_ANSWER} tokens (34%
     * of it; mean 1080 prompt, 425 output tokens): long answers, whose KV fills a decode instance,
     * so the output-heavy peak needs decode instances where the prompt-heavy one needs prefill.
     */
    LONG_ANSWERS("long-answers");

    private final String label;

    OutputHeavy(String label) {
      this.label = label;
    }

    /** The name the bench's option takes. */
    public String label() {
      return label;
    }

    /**
     * The class called {@code label}.
     *
     * @throws IllegalArgumentException naming the known ones when none is called that
     */
    public static OutputHeavy of(String label) {
      for (OutputHeavy o : values()) {
        if (o.label.equals(label)) {
          return o;
        }
      }
      throw new IllegalArgumentException(
          "unknown output-heavy class '" + label + "'; known: short-prompts, long-answers");
    }
  }

  /** Where {@link OutputHeavy#LONG_ANSWERS} starts. */
  public static final int LONG_ANSWER = 256;

  /** {@link #of(double, double, double, Path, OutputHeavy)} with short prompts. */
  public static TidalDay of(double daySeconds, double peakRate, double trough, Path traces) {
    return of(daySeconds, peakRate, trough, traces, OutputHeavy.SHORT_PROMPTS);
  }

  /**
   * The Azure traces in {@code traces} when both are there, else synthetic ranges of the same
   * character; the output-heavy peak drawn as {@code outputHeavy} says.
   */
  public static TidalDay of(
      double daySeconds, double peakRate, double trough, Path traces, OutputHeavy outputHeavy) {
    Path code = traces.resolve("azure-llm-2023-code.csv");
    Path conv = traces.resolve("azure-llm-2023-conv.csv");
    if (Files.isReadable(code) && Files.isReadable(conv)) {
      Workload chat = Workload.trace("azure-conv", conv);
      return new TidalDay(
          daySeconds,
          peakRate,
          trough,
          Workload.trace("azure-code", code).prompts(LONG_PROMPT, Integer.MAX_VALUE),
          switch (outputHeavy) {
            case SHORT_PROMPTS -> chat.prompts(1, LONG_PROMPT);
            case LONG_ANSWERS -> chat.outputs(LONG_ANSWER, Integer.MAX_VALUE);
          });
    }
    return new TidalDay(
        daySeconds,
        peakRate,
        trough,
        Workload.uniform("prompt-heavy", 1024, 4096, 8, 32),
        switch (outputHeavy) {
          case SHORT_PROMPTS -> Workload.uniform("output-heavy", 64, 512, 128, 512);
          case LONG_ANSWERS -> Workload.uniform("output-heavy", 256, 2048, 256, 640);
        });
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
