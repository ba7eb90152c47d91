package dev.duet.engine.model;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgufFile;
import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.safetensors.SafetensorsModel;
import dev.duet.engine.tensor.ComputePool;
import dev.duet.engine.tokenizer.Tokenizer;
import dev.duet.engine.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A loaded Llama-family model: configuration, memory-mapped weights and tokenizer, plus the forward
 * pass over batches of rows. Loads a GGUF file or a Hugging Face directory ({@code config.json},
 * safetensors weights, {@code tokenizer.json}).
 *
 * <p>Threading: {@link #forward} runs one batch at a time (calls are serialized); it spreads each
 * batch over the model's {@link ComputePool}. Everything else is immutable.
 */
public final class LlamaModel implements Model {

  /** The two on-disk forms a model comes in. */
  public enum Format {
    GGUF,
    SAFETENSORS
  }

  private final Path path;
  private final Format format;
  private final AutoCloseable files;
  private final LlamaConfig config;
  private final LlamaWeights weights;
  private final Tokenizer tokenizer;
  private final Optional<String> chatTemplateSource;
  private final ForwardPass pass;

  private LlamaModel(
      Path path,
      Format format,
      AutoCloseable files,
      LlamaConfig config,
      LlamaWeights weights,
      Tokenizer tokenizer,
      Optional<String> chatTemplateSource,
      ComputePool pool) {
    this.path = path;
    this.format = format;
    this.files = files;
    this.config = config;
    this.weights = weights;
    this.tokenizer = tokenizer;
    this.chatTemplateSource = chatTemplateSource;
    this.pass = new ForwardPass(config, weights, pool);
  }

  /**
   * Memory-maps a model: a GGUF file, or a Hugging Face directory. The pool runs its forward
   * passes.
   *
   * @throws ModelFormatException when the model cannot be used (the message names the file and key
   *     or tensor)
   */
  public static LlamaModel load(Path path, ComputePool pool) {
    return Files.isDirectory(path) ? loadHf(path, pool) : loadGguf(path, pool);
  }

  private static LlamaModel loadGguf(Path path, ComputePool pool) {
    GgufFile gguf = GgufFile.open(path);
    try {
      LlamaConfig config = LlamaConfig.fromGguf(gguf, LlamaWeights.ropeFreqFactors(gguf));
      LlamaWeights weights = LlamaWeights.load(gguf, config);
      Tokenizer tokenizer = Tokenizers.fromGguf(gguf);
      return new LlamaModel(
          path,
          Format.GGUF,
          gguf,
          config,
          weights,
          tokenizer,
          gguf.findString("tokenizer.chat_template"),
          pool);
    } catch (RuntimeException e) {
      gguf.close();
      throw e;
    }
  }

  private static LlamaModel loadHf(Path dir, ComputePool pool) {
    SafetensorsModel st = SafetensorsModel.open(dir);
    try {
      TensorSource src = TensorSource.of(st);
      TensorSource.Tensor embedding =
          src.find(TensorNames.HUGGING_FACE.embedding)
              .orElseThrow(
                  () ->
                      new ModelFormatException(
                          dir + ": missing tensor " + TensorNames.HUGGING_FACE.embedding));
      int vocabRows = Math.toIntExact(embedding.shape()[embedding.shape().length - 1]);
      HfModelConfig hf =
          HfModelConfig.parse(st.config(), dir.resolve(SafetensorsModel.CONFIG_FILE), vocabRows);
      LlamaWeights weights =
          LlamaWeights.load(src, TensorNames.HUGGING_FACE, hf.config(), hf.tiedEmbeddings());
      Tokenizer tokenizer = Tokenizers.fromHfDirectory(dir);
      return new LlamaModel(
          dir,
          Format.SAFETENSORS,
          st,
          hf.config(),
          weights,
          tokenizer,
          HfChatTemplates.fromTokenizerConfig(dir.resolve(Tokenizers.TOKENIZER_CONFIG_JSON)),
          pool);
    } catch (RuntimeException e) {
      st.close();
      throw e;
    }
  }

  /** The GGUF file or the Hugging Face directory the model came from. */
  public Path path() {
    return path;
  }

  public Format format() {
    return format;
  }

  @Override
  public String source() {
    return path.toString();
  }

  @Override
  public LlamaConfig config() {
    return config;
  }

  public LlamaWeights weights() {
    return weights;
  }

  @Override
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  /**
   * The model's Jinja chat template source, when it ships one (GGUF {@code
   * tokenizer.chat_template}; for Hugging Face directories, {@code chat_template} in {@code
   * tokenizer_config.json}).
   */
  @Override
  public Optional<String> chatTemplateSource() {
    return chatTemplateSource;
  }

  @Override
  public synchronized float[][] forward(
      List<BatchRow> rows, KvCachePool cache, java.util.function.IntConsumer layerStored) {
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
    return pass.run(rows, cache, layerStored);
  }

  @Override
  public void close() {
    try {
      files.close();
    } catch (Exception e) {
      throw new IllegalStateException("closing " + path + ": " + e.getMessage(), e);
    }
  }
}
