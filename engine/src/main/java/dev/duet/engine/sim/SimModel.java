package dev.duet.engine.sim;

import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.model.BatchRow;
import dev.duet.engine.model.LlamaConfig;
import dev.duet.engine.model.Model;
import dev.duet.engine.model.Rope;
import dev.duet.engine.synth.SyntheticVocabulary;
import dev.duet.engine.tokenizer.SentencePieceTokenizer;
import dev.duet.engine.tokenizer.Tokenizer;
import dev.duet.engine.tokenizer.Vocabulary;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * An emulated GPU: a {@link Model} whose forward pass takes the time its {@link LatencyProfile}
 * gives, writes real K/V bytes of the profile's per-token size into the paged cache (so KV
 * transfers move what they would move for the real model), and returns logits that are a pure
 * function of the K/V the cache holds for the sequence (see {@link SimKvContents}): the same tokens
 * alone, batched, chunked, handed from prefill to decode or migrated, and different tokens when the
 * cache lost or corrupted bytes.
 *
 * <p>A pass writes the layers in order, tells {@code layerStored} each one, and parks (no spinning)
 * until that layer's share of the pass time has passed, so layer-wise KV streaming overlaps as on a
 * GPU; without a listener it parks once, until the pass's end. Many instances share a few cores. A
 * pass whose own work overran its time is counted in {@link #lateSteps()}. Rows of one sequence
 * with a single row that wants logits count as a decode row (a one-token prefill chunk that ends a
 * prompt is timed as one: nearly the same cost).
 *
 * <p>Threading: {@link #forward} is serialized; everything else is immutable or atomic.
 */
public final class SimModel implements Model {

  /** Logit of every token outside a step's candidates. */
  private static final float BACKGROUND = -10f;

  /** Tokens with a high logit at each step. */
  private static final int CANDIDATES = 8;

  private final LatencyProfile profile;
  private final int kvScale;
  private final double speedup;
  private final LlamaConfig config;
  private final Tokenizer tokenizer;
  private final AtomicLong lateSteps = new AtomicLong();

  private SimModel(LatencyProfile profile, int kvScale, double speedup) {
    this.profile = profile;
    this.kvScale = kvScale;
    this.speedup = speedup;
    LatencyProfile.Geometry g = profile.geometry();
    int headDim = g.headDim() / kvScale;
    this.config =
        new LlamaConfig(
            "llama",
            g.dim(),
            g.layers(),
            g.heads(),
            g.kvHeads(),
            headDim,
            g.hiddenDim(),
            g.vocabSize(),
            g.contextLength(),
            1e-5f,
            new Rope(Rope.Style.INTERLEAVED, headDim, 500000f, 1f, null));
    SyntheticVocabulary v = SyntheticVocabulary.build(g.vocabSize());
    this.tokenizer =
        new SentencePieceTokenizer(
            new Vocabulary(
                v.tokens(),
                v.scores(),
                v.types(),
                SyntheticVocabulary.BOS_ID,
                SyntheticVocabulary.EOS_ID,
                SyntheticVocabulary.UNK_ID,
                true,
                true));
  }

  /**
   * An emulated model.
   *
   * @param kvScale divides the per-token KV size (through the head width): 1 is the real size; the
   *     head width must stay an even whole number
   * @param speedup divides every pass time (1 = the profile's times; larger runs faster)
   * @throws IllegalArgumentException for a scale that does not divide the head width evenly, or a
   *     speedup that is not positive
   */
  public static SimModel create(LatencyProfile profile, int kvScale, double speedup) {
    int headDim = profile.geometry().headDim();
    if (kvScale < 1 || headDim % kvScale != 0 || (headDim / kvScale) % 2 != 0) {
      throw new IllegalArgumentException(
          "--kv-scale must divide the head width "
              + headDim
              + " of profile "
              + profile.name()
              + " into an even width, got "
              + kvScale);
    }
    if (!(speedup > 0) || Double.isInfinite(speedup)) {
      throw new IllegalArgumentException("speedup must be finite and > 0, got " + speedup);
    }
    return new SimModel(profile, kvScale, speedup);
  }

  /** An emulated model of a built-in profile, at the real KV size and in real time. */
  public static SimModel of(String profileName) {
    return create(SimProfiles.named(profileName), 1, 1);
  }

  public LatencyProfile profile() {
    return profile;
  }

  public int kvScale() {
    return kvScale;
  }

  /** Passes whose own work took longer than the profile's time (a saturated CPU). */
  public long lateSteps() {
    return lateSteps.get();
  }

  @Override
  public LlamaConfig config() {
    return config;
  }

  @Override
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public Optional<String> chatTemplateSource() {
    return Optional.empty();
  }

  @Override
  public String source() {
    return "sim:" + profile.name();
  }

  @Override
  public KvDtype kvDtype() {
    return profile.geometry().kvDtype();
  }

  @Override
  public synchronized float[][] forward(
      List<BatchRow> rows, KvCachePool cache, IntConsumer layerStored) {
    long start = System.nanoTime();
    int n = rows.size();
    if (n == 0) {
      return new float[0][];
    }
    if (cache.layout().rowBytes() < Long.BYTES) {
      throw new IllegalArgumentException(
          "the sim needs K/V rows of at least 8 bytes; the cache has " + cache.layout());
    }
    long[] h = prefixHashes(rows, cache);
    long total = (long) (stepMs(rows) * 1e6 / speedup);
    int layers = config.nLayers();
    float[][] logits = new float[n][];
    for (int l = 0; l < layers; l++) {
      for (int b = 0; b < n; b++) {
        BatchRow r = rows.get(b);
        SimKvContents.write(cache, r.kv(), r.pos(), l, h[b]);
      }
      if (layerStored != null) {
        layerStored.accept(l);
      }
      if (l == layers - 1) {
        for (int b = 0; b < n; b++) {
          BatchRow r = rows.get(b);
          if (r.wantLogits()) {
            logits[b] = logits(SimKvContents.checksum(cache, r.kv(), r.pos(), h[b]));
          }
        }
        if (System.nanoTime() - start > total) {
          lateSteps.incrementAndGet();
        }
      }
      if (layerStored != null || l == layers - 1) {
        // Parked once per layer only when someone streams the layers: each wake-up costs a
        // context switch, and 16 instances share 2 cores.
        parkUntil(start + total * (l + 1) / layers);
      }
    }
    return logits;
  }

  /** Each row's prefix hash, chained from the row before it or read back from the cache. */
  private long[] prefixHashes(List<BatchRow> rows, KvCachePool cache) {
    long[] h = new long[rows.size()];
    for (int b = 0; b < rows.size(); b++) {
      BatchRow r = rows.get(b);
      if (r.token() >= config.vocabSize()) {
        throw new IllegalArgumentException(
            "token id "
                + r.token()
                + " is outside the vocabulary (size "
                + config.vocabSize()
                + ")");
      }
      if (r.pos() >= config.contextLength()) {
        throw new IllegalArgumentException(
            "position " + r.pos() + " is beyond the context length " + config.contextLength());
      }
      long previous;
      if (r.pos() == 0) {
        previous = SimKvContents.ROOT;
      } else if (b > 0 && sameSequence(rows.get(b - 1), r)) {
        previous = h[b - 1];
      } else {
        previous = SimKvContents.read(cache, r.kv(), r.pos() - 1);
      }
      h[b] = SimKvContents.next(previous, r.token(), r.pos());
    }
    return h;
  }

  private static boolean sameSequence(BatchRow before, BatchRow r) {
    return before.kv() == r.kv() && before.pos() == r.pos() - 1;
  }

  /** The profile's time for these rows: runs of one sequence are prefill chunks or decode rows. */
  double stepMs(List<BatchRow> rows) {
    int prefillTokens = 0;
    long pairs = 0;
    int decodeRows = 0;
    long context = 0;
    int b = 0;
    while (b < rows.size()) {
      BatchRow first = rows.get(b);
      int e = b + 1;
      while (e < rows.size() && sameSequence(rows.get(e - 1), rows.get(e))) {
        e++;
      }
      int len = e - b;
      if (len == 1 && first.wantLogits()) {
        decodeRows++;
        context += first.pos() + 1L;
      } else {
        long o = first.pos();
        prefillTokens += len;
        pairs += (o + len) * (o + len) - o * o;
      }
      b = e;
    }
    return profile.stepMs(prefillTokens, pairs, decodeRows, context);
  }

  /** A deterministic distribution: a few candidate pieces stand out of a flat background. */
  private float[] logits(long checksum) {
    int vocab = config.vocabSize();
    float[] out = new float[vocab];
    Arrays.fill(out, BACKGROUND);
    int first = SyntheticVocabulary.FIRST_NORMAL_ID;
    for (int i = 0; i < CANDIDATES; i++) {
      long r = SimKvContents.mix(checksum + (i + 1) * 0x9E3779B97F4A7C15L);
      int token = first + (int) Math.floorMod(r, (long) vocab - first);
      float logit = 2f + (r >>> 40) * 0x1p-24f * 6f;
      out[token] = Math.max(out[token], logit);
    }
    return out;
  }

  private static void parkUntil(long deadline) {
    for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
      LockSupport.parkNanos(left);
    }
  }

  /** Nothing to free: the sim holds no weights. */
  @Override
  public void close() {}
}
