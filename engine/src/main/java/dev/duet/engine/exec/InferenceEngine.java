package dev.duet.engine.exec;

import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvLayout;
import dev.duet.engine.kv.KvSequence;
import dev.duet.engine.model.BatchRow;
import dev.duet.engine.model.LlamaConfig;
import dev.duet.engine.model.Model;
import dev.duet.engine.sampling.Sampler;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.tokenizer.StreamingDetokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs generations on one model and one paged KV cache: chunked prefill of a prompt, and decode
 * steps over a batch of generations. Scheduling (which requests to step, when) is the caller's.
 *
 * <p>Threading: one caller at a time (the instance's step loop).
 */
public final class InferenceEngine implements AutoCloseable {

  private final Model model;
  private final KvCachePool cache;

  public InferenceEngine(Model model, KvCachePool cache) {
    if (cache.layout().numLayers() != model.config().nLayers()
        || cache.layout().kvDim() != model.config().kvDim()) {
      throw new IllegalArgumentException(
          "KV cache layout " + cache.layout() + " does not fit the model " + model.config());
    }
    this.model = model;
    this.cache = cache;
  }

  /** An engine with its own KV pool of {@code options.kvBlocks()} blocks. */
  public static InferenceEngine create(Model model, EngineOptions options) {
    LlamaConfig c = model.config();
    KvLayout layout =
        new KvLayout(
            c.nLayers(),
            c.nKvHeads(),
            c.headDim(),
            options.blockSize(),
            options.kvBlocksFor(c.contextLength()),
            options.kvDtype());
    return new InferenceEngine(model, new KvCachePool(layout));
  }

  public Model model() {
    return model;
  }

  public KvCachePool cache() {
    return cache;
  }

  /** Creates a generation; it holds no KV blocks until it is prefilled. */
  public Generation start(String id, int[] prompt, SamplingParams params) {
    int context = model.config().contextLength();
    if (prompt.length == 0) {
      throw new IllegalArgumentException("the prompt must have at least one token");
    }
    if (prompt.length >= context) {
      throw new IllegalArgumentException(
          "the prompt has " + prompt.length + " tokens; the model's context is " + context);
    }
    return newGeneration(id, prompt, params, cache.newSequence());
  }

  private Generation newGeneration(String id, int[] prompt, SamplingParams params, KvSequence kv) {
    return new Generation(
        id,
        prompt,
        params,
        new Sampler(params),
        kv,
        new StreamingDetokenizer(model.tokenizer(), model.tokenizer().addsSpacePrefix()));
  }

  /**
   * Runs up to {@code maxTokens} more prompt tokens of {@code g}; when that completes the prompt,
   * samples the first token and returns its event, else returns null.
   */
  public TokenEvent prefill(Generation g, int maxTokens) {
    if (g.prefillDone()) {
      throw new IllegalStateException(g.id() + " is already prefilled");
    }
    int from = g.prefilled();
    int n = Math.min(maxTokens, g.prefillTarget() - from);
    boolean samples = !g.recomputing();
    g.kv().reserve(from + n);
    List<BatchRow> rows = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      boolean last = samples && from + i == g.prefillTarget() - 1;
      rows.add(new BatchRow(g.kv(), from + i, g.contextToken(from + i), last));
    }
    float[][] logits = model.forward(rows, cache);
    g.kv().setLength(from + n);
    g.advancePrefill(n);
    return g.prefillDone() && samples ? sample(g, logits[n - 1]) : null;
  }

  /**
   * Prefills the rest of {@code g}'s prompt in passes of at most {@code chunk} tokens and returns
   * the event of its first sampled token.
   */
  public TokenEvent prefillAll(Generation g, int chunk) {
    TokenEvent first = null;
    while (first == null) {
      first = prefill(g, chunk);
    }
    return first;
  }

  /** One decode step: feeds each generation's last token and samples its next one. */
  public List<TokenEvent> decode(List<Generation> batch) {
    List<BatchRow> rows = new ArrayList<>(batch.size());
    for (Generation g : batch) {
      if (!g.prefillDone() || g.finished()) {
        throw new IllegalStateException(g.id() + " is not ready to decode");
      }
      g.kv().reserve(g.lastPosition() + 1);
      rows.add(new BatchRow(g.kv(), g.lastPosition(), g.lastToken(), true));
    }
    float[][] logits = model.forward(rows, cache);
    List<TokenEvent> events = new ArrayList<>(batch.size());
    for (int b = 0; b < batch.size(); b++) {
      Generation g = batch.get(b);
      g.kv().setLength(g.lastPosition() + 1);
      events.add(sample(g, logits[b]));
    }
    return events;
  }

  /**
   * One forward pass over a mixed batch: a decode row for each of {@code decodes} and the next
   * {@code chunks.get(g)} prompt tokens of each prefilling generation {@code g} (chunked prefill).
   * Returns the events of every decode and of every prefill this pass completed, decodes first.
   * Because a row's logits do not depend on its company (see {@code ForwardPass}), mixing changes
   * no token.
   */
  public List<TokenEvent> step(List<Generation> decodes, Map<Generation, Integer> chunks) {
    return step(decodes, chunks, null);
  }

  /**
   * {@link #step(List, Map)}, telling {@code layerStored} (may be null) each layer as soon as its
   * K/V for every row of the pass is in the cache (see {@link Model#forward(List, KvCachePool,
   * java.util.function.IntConsumer)}).
   */
  public List<TokenEvent> step(
      List<Generation> decodes,
      Map<Generation, Integer> chunks,
      java.util.function.IntConsumer layerStored) {
    List<BatchRow> rows = new ArrayList<>();
    for (Generation g : decodes) {
      if (!g.prefillDone() || g.finished()) {
        throw new IllegalStateException(g.id() + " is not ready to decode");
      }
      g.kv().reserve(g.lastPosition() + 1);
      rows.add(new BatchRow(g.kv(), g.lastPosition(), g.lastToken(), true));
    }
    List<Generation> prefills = new ArrayList<>(chunks.keySet());
    int[] firstRow = new int[prefills.size()];
    int[] count = new int[prefills.size()];
    boolean[] samples = new boolean[prefills.size()];
    for (int i = 0; i < prefills.size(); i++) {
      Generation g = prefills.get(i);
      if (g.prefillDone()) {
        throw new IllegalStateException(g.id() + " is already prefilled");
      }
      int from = g.prefilled();
      count[i] = Math.min(chunks.get(g), g.prefillTarget() - from);
      samples[i] = !g.recomputing();
      if (count[i] <= 0) {
        throw new IllegalArgumentException(g.id() + ": a prefill chunk needs at least one token");
      }
      g.kv().reserve(from + count[i]);
      firstRow[i] = rows.size();
      for (int j = 0; j < count[i]; j++) {
        boolean last = samples[i] && from + j == g.prefillTarget() - 1;
        rows.add(new BatchRow(g.kv(), from + j, g.contextToken(from + j), last));
      }
    }
    float[][] logits = rows.isEmpty() ? new float[0][] : model.forward(rows, cache, layerStored);
    List<TokenEvent> events = new ArrayList<>();
    for (int b = 0; b < decodes.size(); b++) {
      Generation g = decodes.get(b);
      g.kv().setLength(g.lastPosition() + 1);
      events.add(sample(g, logits[b]));
    }
    for (int i = 0; i < prefills.size(); i++) {
      Generation g = prefills.get(i);
      g.kv().setLength(g.prefilled() + count[i]);
      g.advancePrefill(count[i]);
      if (g.prefillDone() && samples[i]) {
        events.add(sample(g, logits[firstRow[i] + count[i] - 1]));
      }
    }
    return events;
  }

  private TokenEvent sample(Generation g, float[] logits) {
    int token = g.sampler().sample(logits, model.config().vocabSize());
    int eos = model.tokenizer().eosId();
    String text = g.accept(token, eos, model.config().contextLength());
    boolean eosStop = token == eos && !g.params().ignoreEos();
    return new TokenEvent(g, eosStop ? -1 : token, text, g.finished());
  }

  /**
   * Continues a generation snapshot taken on another instance (or this one). Reserves blocks for
   * {@link GenerationSnapshot#kvLength()} positions and sets the sequence to that length: the
   * caller must fill those positions' keys and values in every layer (a KV transfer into {@code
   * g.kv()}'s blocks) before the first {@link #decode} of the returned generation. Replays the
   * generated ids through the detokenizer and stop matcher, so text and stop detection continue
   * exactly.
   *
   * @throws dev.duet.engine.kv.KvCacheExhaustedException when the pool cannot hold it (nothing is
   *     held then)
   */
  public Generation resume(GenerationSnapshot s) {
    return resume(s, cache.newSequence());
  }

  /**
   * {@link #resume(GenerationSnapshot)} into a sequence reserved beforehand (the decode side of a
   * prefill handoff reserves blocks before the prefill writes into them).
   *
   * @throws IllegalArgumentException when {@code kv} is not of this engine's pool
   */
  public Generation resume(GenerationSnapshot s, KvSequence kv) {
    if (kv.pool() != cache) {
      throw new IllegalArgumentException(s.id() + ": the sequence is not from this engine's pool");
    }
    if (s.kvLength() >= model.config().contextLength()) {
      throw new IllegalArgumentException(
          s.id() + ": the snapshot's " + s.kvLength() + " positions do not fit the context");
    }
    Generation g = newGeneration(s.id(), s.prompt(), s.params(), kv);
    g.restoreSampler(s.sampler());
    g.advancePrefill(s.prompt().length);
    int eos = model.tokenizer().eosId();
    int context = model.config().contextLength();
    for (int token : s.generated()) {
      g.accept(token, eos, context);
    }
    if (g.finished()) {
      throw new IllegalArgumentException(
          s.id() + ": the snapshot's tokens already end the generation (" + g.stopReason() + ")");
    }
    try {
      g.kv().reserve(s.kvLength());
    } catch (RuntimeException e) {
      g.kv().free();
      throw e;
    }
    g.kv().setLength(s.kvLength());
    return g;
  }

  /**
   * A generation that continues a snapshot whose KV was lost (its instance failed): it holds no
   * blocks yet; prefilling it recomputes the KV of the prompt and of every generated token but the
   * last (the same keys and values decoding wrote: rows do not depend on their company), samples
   * nothing, and then it decodes on exactly as it would have. Replays the generated ids through the
   * detokenizer and stop matcher, like {@link #resume}.
   */
  public Generation recover(GenerationSnapshot s) {
    if (s.kvLength() >= model.config().contextLength()) {
      throw new IllegalArgumentException(
          s.id() + ": the snapshot's " + s.kvLength() + " positions do not fit the context");
    }
    Generation g = newGeneration(s.id(), s.prompt(), s.params(), cache.newSequence());
    g.restoreSampler(s.sampler());
    int eos = model.tokenizer().eosId();
    int context = model.config().contextLength();
    for (int token : s.generated()) {
      g.accept(token, eos, context);
    }
    if (g.finished()) {
      throw new IllegalArgumentException(
          s.id() + ": the snapshot's tokens already end the generation (" + g.stopReason() + ")");
    }
    g.recomputeContext();
    return g;
  }

  /** Ends a generation early (cancelled) and frees its blocks. */
  public void cancel(Generation g) {
    if (!g.finished()) {
      g.finish(dev.duet.engine.sampling.StopReason.CANCELLED);
    }
    release(g);
  }

  /** Ends a generation because serving it failed ({@code ERROR}) and frees its blocks. */
  public void fail(Generation g) {
    if (!g.finished()) {
      g.finish(dev.duet.engine.sampling.StopReason.ERROR);
    }
    release(g);
  }

  /** Frees a generation's KV blocks. Idempotent. */
  public void release(Generation g) {
    g.kv().free();
  }

  /**
   * Convenience for one request alone: prefills in chunks of {@code chunk} tokens and decodes until
   * it stops, handing each event to {@code listener}; frees the blocks at the end.
   */
  public Generation generate(
      String id,
      int[] prompt,
      SamplingParams params,
      int chunk,
      java.util.function.Consumer<TokenEvent> listener) {
    Generation g = start(id, prompt, params);
    try {
      listener.accept(prefillAll(g, chunk));
      while (!g.finished()) {
        listener.accept(decode(List.of(g)).getFirst());
      }
      return g;
    } finally {
      release(g);
    }
  }

  @Override
  public void close() {
    cache.close();
  }
}
