package dev.duet.engine.model;

import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.tokenizer.Tokenizer;
import java.util.List;
import java.util.Optional;
import java.util.function.IntConsumer;

/**
 * What the engine and everything above it need of a model: its shape, its tokenizer and chat
 * template, and the forward pass over a batch of rows against a paged KV cache. The seam between
 * the engine and its backends: {@link LlamaModel} computes on the CPU, {@code
 * dev.duet.engine.sim.SimModel} emulates a GPU from a latency model.
 *
 * <p>Threading: {@link #forward} runs one batch at a time (implementations serialize calls);
 * everything else is immutable and safe from any thread.
 */
public interface Model extends AutoCloseable {

  /** The model's shape: the KV cache of an engine is laid out from it. */
  LlamaConfig config();

  Tokenizer tokenizer();

  /** The model's Jinja chat template source, when it ships one. */
  Optional<String> chatTemplateSource();

  /** Where the model came from, for messages: a file, a directory or {@code sim:PROFILE}. */
  String source();

  /** The element type its engines store K/V in. */
  default KvDtype kvDtype() {
    return KvDtype.F32;
  }

  /**
   * Runs one batch: stores each row's K/V at its position in {@code cache} and returns, for each
   * row that wants them, its logits over the vocabulary (null for the others).
   */
  default float[][] forward(List<BatchRow> rows, KvCachePool cache) {
    return forward(rows, cache, null);
  }

  /**
   * {@link #forward(List, KvCachePool)}, telling {@code layerStored} (may be null) each layer index
   * as soon as that layer's K/V of every row is in the cache, before the next layer computes: what
   * lets a transfer of layer L overlap the compute of layer L+1.
   */
  float[][] forward(List<BatchRow> rows, KvCachePool cache, IntConsumer layerStored);

  @Override
  void close();
}
