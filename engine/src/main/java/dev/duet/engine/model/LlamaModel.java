package dev.duet.engine.model;

import dev.duet.engine.gguf.GgufFile;
import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.tensor.ComputePool;
import dev.duet.engine.tokenizer.Tokenizer;
import dev.duet.engine.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A loaded Llama-family model: configuration, memory-mapped weights and tokenizer, plus the forward
 * pass over batches of rows.
 *
 * <p>Threading: {@link #forward} runs one batch at a time (calls are serialized); it spreads each
 * batch over the model's {@link ComputePool}. Everything else is immutable.
 */
public final class LlamaModel implements AutoCloseable {

  private final Path path;
  private final GgufFile gguf;
  private final LlamaConfig config;
  private final LlamaWeights weights;
  private final Tokenizer tokenizer;
  private final ForwardPass pass;

  private LlamaModel(
      Path path,
      GgufFile gguf,
      LlamaConfig config,
      LlamaWeights weights,
      Tokenizer tokenizer,
      ComputePool pool) {
    this.path = path;
    this.gguf = gguf;
    this.config = config;
    this.weights = weights;
    this.tokenizer = tokenizer;
    this.pass = new ForwardPass(config, weights, pool);
  }

  /** Memory-maps a GGUF model; the pool runs its forward passes. */
  public static LlamaModel load(Path path, ComputePool pool) {
    GgufFile gguf = GgufFile.open(path);
    try {
      LlamaConfig config = LlamaConfig.fromGguf(gguf, LlamaWeights.ropeFreqFactors(gguf));
      LlamaWeights weights = LlamaWeights.load(gguf, config);
      Tokenizer tokenizer = Tokenizers.fromGguf(gguf);
      return new LlamaModel(path, gguf, config, weights, tokenizer, pool);
    } catch (RuntimeException e) {
      gguf.close();
      throw e;
    }
  }

  public Path path() {
    return path;
  }

  public LlamaConfig config() {
    return config;
  }

  public LlamaWeights weights() {
    return weights;
  }

  public Tokenizer tokenizer() {
    return tokenizer;
  }

  /**
   * The model's Jinja chat template source, when it ships one (GGUF {@code
   * tokenizer.chat_template}; for Hugging Face directories, {@code chat_template} in {@code
   * tokenizer_config.json}).
   */
  public Optional<String> chatTemplateSource() {
    return gguf.findString("tokenizer.chat_template");
  }

  /** The model file's metadata (chat template and the like live there). */
  public GgufFile gguf() {
    return gguf;
  }

  /**
   * Runs one batch: stores each row's K/V at its position in {@code cache} and returns, for each
   * row that wants them, its logits over the vocabulary (null for the others).
   */
  public synchronized float[][] forward(List<BatchRow> rows, KvCachePool cache) {
    if (rows.isEmpty()) {
      return new float[0][];
    }
    for (BatchRow r : rows) {
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
    }
    return pass.run(rows, cache);
  }

  @Override
  public void close() {
    gguf.close();
  }
}
