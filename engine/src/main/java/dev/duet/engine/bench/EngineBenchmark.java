package dev.duet.engine.bench;

import dev.duet.engine.exec.Generation;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.tensor.ComputePool;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Measures an engine: prefill tokens/s for given prompt lengths, decode tokens/s for given batch
 * sizes, and — in the same run — the machine's memory bandwidth, so each decode figure can be
 * compared with the bound {@code batch * bandwidth / bytes of weights read per step}.
 *
 * <p>Prompts are random token ids (seeded), so any model works. Progress goes to the listener.
 */
public final class EngineBenchmark {

  /** Prefill result. */
  public record Prefill(int promptTokens, double tokensPerS) {}

  /**
   * Decode result.
   *
   * @param ratioToBound measured tokens/s over the bandwidth bound (1.0 = at the bound)
   */
  public record Decode(int batch, double tokensPerS, double ratioToBound) {}

  /** All results of one run. */
  /**
   * All results of one run.
   *
   * @param bandwidthGbps memory copy bandwidth, bytes copied per second: the bound's denominator
   * @param readGbps streaming read bandwidth, bytes read per second (for reference)
   * @param weightBytes bytes of weights one decode step reads
   */
  public record Result(
      double bandwidthGbps,
      double readGbps,
      long weightBytes,
      List<Prefill> prefill,
      List<Decode> decode) {}

  /** The first id after {@code <unk>, <s>, </s>} and the 256 byte tokens. */
  private static final int FIRST_TEXT_ID = 3 + 256;

  /** Timed windows per decode batch size. */
  static final int WINDOWS = 3;

  private final InferenceEngine engine;
  private final ComputePool pool;
  private final Consumer<String> progress;

  public EngineBenchmark(InferenceEngine engine, ComputePool pool, Consumer<String> progress) {
    this.engine = engine;
    this.pool = pool;
    this.progress = progress;
  }

  public Result run(List<Integer> promptLengths, List<Integer> batches, int decodeSteps) {
    if (!(engine.model() instanceof LlamaModel model)) {
      throw new IllegalArgumentException(
          "the engine benchmark needs a CPU model, not " + engine.model().source());
    }
    long weightBytes = model.weights().matrixBytes();
    progress.accept("warming up");
    prefillOnce(Math.min(64, model.config().contextLength() / 2), 0);
    decodeBatch(Math.min(4, batches.getLast()), 4, 1);

    progress.accept("measuring memory bandwidth");
    BandwidthProbe probe = new BandwidthProbe(pool);
    double bandwidth = probe.copyGbps(1L << 30, 5);
    double read = probe.readGbps(1L << 30, 5);

    List<Prefill> prefill = new ArrayList<>();
    for (int n : promptLengths) {
      progress.accept("prefill " + n + " tokens");
      double best = 0;
      for (int rep = 0; rep < 2; rep++) {
        best = Math.max(best, prefillOnce(n, rep + 1));
      }
      prefill.add(new Prefill(n, best));
    }
    List<Decode> decode = new ArrayList<>();
    for (int b : batches) {
      progress.accept("decode batch " + b);
      double tps = decodeBatch(b, decodeSteps, 100 + b);
      double bound = b * bandwidth * 1e9 / weightBytes;
      decode.add(new Decode(b, tps, tps / bound));
    }
    return new Result(bandwidth, read, weightBytes, prefill, decode);
  }

  private int[] randomPrompt(int n, long seed) {
    int vocab = engine.model().config().vocabSize();
    SplittableRandom r = new SplittableRandom(seed);
    // Skip the control and byte-fallback ids that SentencePiece vocabularies start with, when the
    // vocabulary is large enough to have others.
    int first = vocab > FIRST_TEXT_ID ? FIRST_TEXT_ID : 0;
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = r.nextInt(first, vocab);
    }
    return ids;
  }

  private static SamplingParams params(int maxTokens) {
    return new SamplingParams(0f, 0, 1f, 0, maxTokens, List.of(), true);
  }

  /** Returns prefill tokens/s for one prompt of {@code n} tokens. */
  private double prefillOnce(int n, long seed) {
    Generation g = engine.start("bench-prefill", randomPrompt(n, seed), params(1));
    try {
      long t0 = System.nanoTime();
      engine.prefillAll(g, Integer.MAX_VALUE);
      return n / ((System.nanoTime() - t0) / 1e9);
    } finally {
      engine.release(g);
    }
  }

  /**
   * Returns decode tokens/s for {@code batch} sequences: the best of {@link #WINDOWS} windows of
   * {@code steps} steps each (the bandwidth baseline is a best-of too, so the ratio compares like
   * with like on a machine whose neighbours come and go).
   */
  private double decodeBatch(int batch, int steps, long seed) {
    List<Generation> gens = new ArrayList<>();
    try {
      for (int i = 0; i < batch; i++) {
        Generation g =
            engine.start(
                "bench-" + i, randomPrompt(16, seed * 1000 + i), params(WINDOWS * steps + 4));
        engine.prefillAll(g, Integer.MAX_VALUE);
        gens.add(g);
      }
      engine.decode(gens);
      double best = 0;
      for (int w = 0; w < WINDOWS; w++) {
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
          engine.decode(gens);
        }
        best = Math.max(best, (double) batch * steps / ((System.nanoTime() - t0) / 1e9));
      }
      return best;
    } finally {
      gens.forEach(engine::release);
    }
  }
}
