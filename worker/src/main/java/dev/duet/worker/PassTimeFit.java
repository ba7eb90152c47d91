package dev.duet.worker;

/**
 * Fits the time of a forward pass to {@code fixed + perUnit · units}, where a unit is a decode row
 * (for pure decode passes) or a prompt token (for pure prefill passes). It is what a planner needs
 * to size a role: on a GPU a decode pass costs nearly the same at any batch (the weights are read
 * once), so throughput grows with the batch; on a CPU it grows with the rows, so throughput is
 * flat; and a prefill pass's fixed part makes short prompts dearer per token than long ones. Tokens
 * per second at today's load say none of that.
 *
 * <p>Passes are grouped by size class (powers of two: 1, 2-3, 4-7, ...); each class keeps an
 * exponential average of its passes' sizes and times, and the line is the least-squares fit through
 * the classes' averages. One pass's time is noisy (contexts differ, a busy CPU wakes a pass late):
 * a least-squares fit over the last few dozen passes, which mostly share one batch size, read the
 * per-row cost anywhere from 0 to 10x its value in {@code duet bench tidal}. Class averages hold
 * many passes each, and classes a factor of two apart give the slope its leverage; a class keeps
 * what it learnt while the load stays in other classes, so a fit made on a ramp outlives the
 * plateau after it. A class not updated in {@link #STALE_PASSES} passes is dropped.
 *
 * <p>Until two classes have {@link #MIN_SAMPLES} passes each the units cannot be told from the
 * fixed part, and the fit is proportional ({@code fixed = 0}): the cautious reading, as it never
 * promises more throughput from a bigger pass.
 *
 * <p>Not thread-safe: the step loop's thread feeds it; readers take {@link #fixedMs} and {@link
 * #perUnitMs} through the loop's published load.
 */
final class PassTimeFit {
  /** Weight of a class's newest pass in its averages. */
  static final double WEIGHT = 0.1;

  /** Passes a class needs before it takes part in the fit. */
  static final int MIN_SAMPLES = 4;

  /** A class last updated this many passes ago no longer takes part. */
  static final long STALE_PASSES = 20_000;

  /**
   * A class's weight in the line: its passes, up to this many (a class the load sits in must not
   * drown the others that give the slope).
   */
  static final int MAX_CLASS_WEIGHT = 16;

  private static final int CLASSES = 31;

  private final double[] units = new double[CLASSES]; // averaged size of the class's passes
  private final double[] ms = new double[CLASSES]; // averaged time of the class's passes
  private final int[] samples = new int[CLASSES]; // passes seen, up to MAX_CLASS_WEIGHT
  private final long[] lastPass = new long[CLASSES];
  private long passes;
  private double fixedMs;
  private double perUnitMs;
  private boolean separated;

  /** One pass of {@code n} units (rows or tokens) that took {@code passMs}. */
  void add(int n, double passMs) {
    if (n < 1 || !(passMs > 0)) {
      return;
    }
    passes++;
    int c = 31 - Integer.numberOfLeadingZeros(n);
    if (passes - lastPass[c] > STALE_PASSES) {
      samples[c] = 0;
    }
    // a class's first passes count alike (one JIT-cold pass must not set its average for the next
    // twenty), then the newest weighs WEIGHT
    double w = Math.max(WEIGHT, 1.0 / (samples[c] + 1));
    units[c] = w * n + (1 - w) * units[c];
    ms[c] = w * passMs + (1 - w) * ms[c];
    samples[c] = Math.min(samples[c] + 1, MAX_CLASS_WEIGHT);
    lastPass[c] = passes;
    refit(c);
  }

  private void refit(int newest) {
    double sw = 0;
    double sx = 0;
    double sy = 0;
    double sxx = 0;
    double sxy = 0;
    int classes = 0;
    for (int c = 0; c < CLASSES; c++) {
      if (samples[c] < MIN_SAMPLES || passes - lastPass[c] > STALE_PASSES) {
        continue;
      }
      double w = samples[c];
      sw += w;
      sx += w * units[c];
      sy += w * ms[c];
      sxx += w * units[c] * units[c];
      sxy += w * units[c] * ms[c];
      classes++;
    }
    if (classes < 2) {
      if (!separated) {
        // proportional until the fixed part can be separated; a fit once made is kept
        perUnitMs = ms[newest] / units[newest];
      }
      return;
    }
    separated = true;
    double mx = sx / sw;
    double my = sy / sw;
    double slope = (sxy / sw - mx * my) / (sxx / sw - mx * mx);
    double intercept = my - slope * mx;
    if (slope < 0) {
      perUnitMs = 0;
      fixedMs = my;
    } else if (intercept < 0) {
      // through the origin: the least-squares proportional line
      perUnitMs = sxy / sxx;
      fixedMs = 0;
    } else {
      perUnitMs = slope;
      fixedMs = intercept;
    }
  }

  /** The fixed part of a pass, ms (0 until measured, or while it cannot be separated). */
  double fixedMs() {
    return fixedMs;
  }

  /** What each unit (decode row or prompt token) adds to a pass, ms (0 until measured). */
  double perUnitMs() {
    return perUnitMs;
  }

  /** Whether the fixed part has been told from the units' (two size classes seen). */
  boolean separated() {
    return separated;
  }

  /** A pass of {@code n} units, ms, as fitted (0 until measured). */
  double ms(double n) {
    return fixedMs + perUnitMs * n;
  }
}
