package dev.duet.engine.sampling;

/**
 * Picks the next token of one request from the model's logits, following its {@link
 * SamplingParams}. The result depends only on the logits, the parameters and the generator state,
 * bit for bit, so a request can be replayed or {@link #state() saved} and resumed on another
 * machine.
 *
 * <p>The exact algorithm (a reimplementation must follow it to draw the same ids):
 *
 * <ol>
 *   <li><b>Greedy</b> when temperature is 0 or top-k is 1: the id of the highest logit, the lowest
 *       id on ties. Consumes no randomness.
 *   <li><b>Candidates</b>: with {@code 0 < topK < vocabSize}, the {@code topK} highest logits in
 *       order of logit descending, lower id first on ties; otherwise every id in ascending order.
 *   <li><b>Weights</b>: {@code w = exp((logit - m) / temperature)} in double precision, where
 *       {@code m} is the highest candidate logit; {@code Z} is their sum in candidate order.
 *   <li><b>Top-p</b> (when {@code topP < 1}): candidates are reordered by weight descending, lower
 *       id first on ties, and cut after the first position where the running sum of weights reaches
 *       {@code topP * Z} (all are kept if rounding means it never does). This is the nucleus: the
 *       smallest most-likely prefix whose probability is at least {@code topP}.
 *   <li><b>Draw</b>: {@code S} is the sum of the kept weights (in kept order), {@code u =
 *       nextDouble() * S} (exactly one draw); the pick is the first kept candidate whose running
 *       weight sum exceeds {@code u}, or, if rounding leaves none, the last kept candidate with a
 *       positive weight.
 * </ol>
 *
 * <p>Only the first {@code vocabSize} logits count. Logits may be {@code -Infinity} (masked) but
 * not NaN or {@code +Infinity}, and not all {@code -Infinity}. Top-k uses a bounded heap (O(V log
 * k)); top-p sorts (a stable radix sort) only the candidates heavy enough to be in any nucleus,
 * falling back to all ids only when rounding requires; plain sampling sorts nothing.
 *
 * <p>Not thread-safe: one sampler per request, used by one thread at a time. It keeps scratch
 * buffers between calls.
 */
public final class Sampler {

  private final SamplingParams params;
  private final SamplerRng rng;

  private int[] ids = new int[0];
  private double[] weights = new double[0];
  private double[] byId = new double[0];
  private final WeightOrder weightOrder = new WeightOrder();

  /** A sampler whose generator is seeded from {@code params.seed()}. */
  public Sampler(SamplingParams params) {
    this(requireParams(params), new SamplerRng(params.seed()));
  }

  /** A sampler that continues exactly where the one that produced {@code state} was. */
  public Sampler(SamplerState state) {
    this(requireState(state).params(), SamplerRng.restore(state.rng()));
  }

  /**
   * The state of a sampler seeded from {@code params} after it sampled {@code tokens} tokens: a
   * greedy sampler draws nothing, any other exactly once per token. With it, a request whose
   * instance died is recovered from its ids alone.
   */
  public static SamplerState stateAfter(SamplingParams params, int tokens) {
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    }
    SamplerRng rng = new SamplerRng(requireParams(params).seed());
    if (!params.isGreedy()) {
      for (int i = 0; i < tokens; i++) {
        rng.nextDouble();
      }
    }
    return new SamplerState(params, rng.state());
  }

  private Sampler(SamplingParams params, SamplerRng rng) {
    this.params = params;
    this.rng = rng;
  }

  public SamplingParams params() {
    return params;
  }

  /** A snapshot of the parameters and generator; {@link #Sampler(SamplerState)} resumes it. */
  public SamplerState state() {
    return new SamplerState(params, rng.state());
  }

  /**
   * The next token id, in {@code [0, vocabSize)}.
   *
   * @throws IllegalArgumentException if {@code vocabSize} is not in {@code [1, logits.length]}, or
   *     a counted logit is NaN or {@code +Infinity}, or all counted logits are {@code -Infinity}
   */
  public int sample(float[] logits, int vocabSize) {
    if (logits == null) {
      throw new IllegalArgumentException("logits must not be null, got null");
    }
    if (vocabSize < 1 || vocabSize > logits.length) {
      throw new IllegalArgumentException(
          "vocabSize must be in [1, " + logits.length + "], got " + vocabSize);
    }
    if (params.isGreedy()) {
      return argmax(logits, vocabSize);
    }
    int topK = params.topK();
    if (topK > 0 && topK < vocabSize) {
      return sampleTopK(logits, vocabSize, topK);
    }
    if (params.topP() < 1f) {
      return sampleTopP(logits, vocabSize);
    }
    return sampleAll(logits, vocabSize);
  }

  /** Highest logit, lowest id on ties. */
  static int argmax(float[] logits, int vocabSize) {
    int best = -1;
    float bestLogit = Float.NEGATIVE_INFINITY;
    for (int id = 0; id < vocabSize; id++) {
      float x = logits[id];
      if (x > bestLogit) {
        bestLogit = x;
        best = id;
      } else if (Float.isNaN(x)) {
        TopKSelector.checkLogit(logits, id);
      }
    }
    if (best < 0 || bestLogit == Float.POSITIVE_INFINITY) {
      checkAll(logits, vocabSize);
      throw allMasked(vocabSize);
    }
    return best;
  }

  /** No top-k, no top-p: every id in ascending order, nothing sorted. */
  private int sampleAll(float[] logits, int vocabSize) {
    double max = maxLogit(logits, vocabSize);
    double[] w = byIdBuffer(vocabSize);
    double temperature = params.temperature();
    double z = 0;
    for (int id = 0; id < vocabSize; id++) {
      double wi = Math.exp((logits[id] - max) / temperature);
      w[id] = wi;
      z += wi;
    }
    double u = rng.nextDouble() * z;
    double c = 0;
    int lastPositive = -1;
    for (int id = 0; id < vocabSize; id++) {
      double wi = w[id];
      c += wi;
      if (u < c) {
        return id;
      }
      if (wi > 0) {
        lastPositive = id;
      }
    }
    return lastPositive;
  }

  private int sampleTopK(float[] logits, int vocabSize, int k) {
    ensureCandidates(k);
    TopKSelector.select(logits, vocabSize, k, ids);
    double max = logits[ids[0]];
    if (max == Float.NEGATIVE_INFINITY) {
      throw allMasked(vocabSize);
    }
    double temperature = params.temperature();
    double z = 0;
    for (int i = 0; i < k; i++) {
      double wi = Math.exp((logits[ids[i]] - max) / temperature);
      weights[i] = wi;
      z += wi;
    }
    int kept = k;
    if (params.topP() < 1f) {
      WeightOrder.sort(ids, weights, k);
      int nucleus = nucleusSize(k, params.topP() * z);
      kept = nucleus == 0 ? k : nucleus;
    }
    return draw(kept);
  }

  /** Top-p over the whole vocabulary, sorting only the candidates heavy enough to matter. */
  private int sampleTopP(float[] logits, int vocabSize) {
    double max = maxLogit(logits, vocabSize);
    double[] w = byIdBuffer(vocabSize);
    double temperature = params.temperature();
    double z = 0;
    for (int id = 0; id < vocabSize; id++) {
      double wi = Math.exp((logits[id] - max) / temperature);
      w[id] = wi;
      z += wi;
    }
    double target = params.topP() * z;
    // Every id outside the nucleus-candidate set weighs less than the threshold, so together they
    // weigh less than (1 - topP) * Z: the heavier ones alone (a prefix of the full order) reach
    // topP * Z, barring rounding, which the fallback below covers.
    double threshold = (1.0 - params.topP()) * z / vocabSize;
    ensureCandidates(vocabSize);
    int n = 0;
    for (int id = 0; id < vocabSize; id++) {
      if (w[id] >= threshold) {
        ids[n] = id;
        weights[n] = w[id];
        n++;
      }
    }
    weightOrder.sortIdOrdered(ids, weights, n);
    int kept = nucleusSize(n, target);
    if (kept == 0 && n < vocabSize) {
      for (int id = 0; id < vocabSize; id++) {
        ids[id] = id;
        weights[id] = w[id];
      }
      n = vocabSize;
      weightOrder.sortIdOrdered(ids, weights, n);
      kept = nucleusSize(n, target);
    }
    return draw(kept == 0 ? n : kept);
  }

  /**
   * The length of the shortest prefix of the sorted candidates whose weight sum reaches {@code
   * target}, or 0 if all {@code n} together do not.
   */
  private int nucleusSize(int n, double target) {
    double c = 0;
    for (int i = 0; i < n; i++) {
      c += weights[i];
      if (c >= target) {
        return i + 1;
      }
    }
    return 0;
  }

  /** One draw over the first {@code kept} candidates in {@code ids}/{@code weights}. */
  private int draw(int kept) {
    double s = 0;
    for (int i = 0; i < kept; i++) {
      s += weights[i];
    }
    double u = rng.nextDouble() * s;
    double c = 0;
    int lastPositive = 0;
    for (int i = 0; i < kept; i++) {
      double wi = weights[i];
      c += wi;
      if (u < c) {
        return ids[i];
      }
      if (wi > 0) {
        lastPositive = i;
      }
    }
    return ids[lastPositive];
  }

  private static double maxLogit(float[] logits, int vocabSize) {
    float max = Float.NEGATIVE_INFINITY;
    for (int id = 0; id < vocabSize; id++) {
      float x = logits[id];
      if (x > max) {
        max = x;
      } else if (Float.isNaN(x)) {
        TopKSelector.checkLogit(logits, id);
      }
    }
    if (max == Float.POSITIVE_INFINITY) {
      checkAll(logits, vocabSize);
    }
    if (max == Float.NEGATIVE_INFINITY) {
      throw allMasked(vocabSize);
    }
    return max;
  }

  private static void checkAll(float[] logits, int vocabSize) {
    for (int id = 0; id < vocabSize; id++) {
      TopKSelector.checkLogit(logits, id);
    }
  }

  private static IllegalArgumentException allMasked(int vocabSize) {
    return new IllegalArgumentException(
        "logits must have a finite value among the first " + vocabSize + ", got all -Infinity");
  }

  private double[] byIdBuffer(int vocabSize) {
    if (byId.length < vocabSize) {
      byId = new double[vocabSize];
    }
    return byId;
  }

  private void ensureCandidates(int n) {
    if (ids.length < n) {
      ids = new int[n];
      weights = new double[n];
    }
  }

  private static SamplingParams requireParams(SamplingParams params) {
    if (params == null) {
      throw new IllegalArgumentException("params must not be null, got null");
    }
    return params;
  }

  private static SamplerState requireState(SamplerState state) {
    if (state == null) {
      throw new IllegalArgumentException("state must not be null, got null");
    }
    return state;
  }
}
