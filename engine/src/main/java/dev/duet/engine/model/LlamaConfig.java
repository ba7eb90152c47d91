package dev.duet.engine.model;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgufFile;
import java.util.Set;

/**
 * The shape and hyper-parameters of a Llama-family model (Llama 2/3, TinyLlama, SmolLM, Mistral,
 * Qwen2).
 *
 * @param architecture the family, as GGUF's {@code general.architecture} names it: {@code llama},
 *     {@code mistral} or {@code qwen2}
 * @param dim embedding width (hidden size)
 * @param nLayers transformer blocks
 * @param nHeads query heads
 * @param nKvHeads key/value heads (grouped-query attention when fewer than {@code nHeads})
 * @param headDim width of one head; {@code nHeads * headDim} is the query width
 * @param hiddenDim SwiGLU feed-forward width
 * @param vocabSize tokens in the vocabulary (rows of the embedding)
 * @param contextLength the longest sequence the model supports, in tokens
 * @param rmsEps epsilon added inside RMSNorm
 * @param rope rotary position embedding parameters
 */
public record LlamaConfig(
    String architecture,
    int dim,
    int nLayers,
    int nHeads,
    int nKvHeads,
    int headDim,
    int hiddenDim,
    int vocabSize,
    int contextLength,
    float rmsEps,
    Rope rope) {

  /** Architectures whose tensors are the Llama ones (Qwen2 adds Q/K/V biases). */
  public static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2");

  public LlamaConfig {
    if (!ARCHITECTURES.contains(architecture)) {
      throw new IllegalArgumentException(
          "architecture must be one of " + ARCHITECTURES + ", got " + architecture);
    }
    positive("dim", dim);
    positive("nLayers", nLayers);
    positive("nHeads", nHeads);
    positive("nKvHeads", nKvHeads);
    positive("headDim", headDim);
    positive("hiddenDim", hiddenDim);
    positive("vocabSize", vocabSize);
    positive("contextLength", contextLength);
    if (nHeads % nKvHeads != 0) {
      throw new IllegalArgumentException(
          "nHeads (" + nHeads + ") must be a multiple of nKvHeads (" + nKvHeads + ")");
    }
    if (rope.dims() > headDim || rope.dims() % 2 != 0) {
      throw new IllegalArgumentException(
          "rope dims must be even and <= headDim " + headDim + ", got " + rope.dims());
    }
    if (!(rmsEps > 0)) {
      throw new IllegalArgumentException("rmsEps must be > 0, got " + rmsEps);
    }
  }

  private static void positive(String field, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(field + " must be > 0, got " + value);
    }
  }

  /** Width of the query projection, {@code nHeads * headDim}. */
  public int qDim() {
    return nHeads * headDim;
  }

  /** Width of one token's keys (or values) in one layer, {@code nKvHeads * headDim}. */
  public int kvDim() {
    return nKvHeads * headDim;
  }

  /** Query heads that share one key/value head. */
  public int groupSize() {
    return nHeads / nKvHeads;
  }

  /**
   * Reads the configuration from a GGUF file's {@code <arch>.*} keys. The vocabulary size comes
   * from {@code token_embd.weight}; {@code ropeFreqFactors} (Llama 3 long-context scaling) from the
   * optional {@code rope_freqs.weight} tensor.
   */
  public static LlamaConfig fromGguf(GgufFile gguf, float[] ropeFreqFactors) {
    String arch = gguf.getString("general.architecture");
    if (!ARCHITECTURES.contains(arch)) {
      throw new ModelFormatException(
          gguf.path()
              + ": general.architecture is '"
              + arch
              + "', which Duet does not support; supported: "
              + ARCHITECTURES.stream().sorted().toList());
    }
    int dim = gguf.getInt(arch + ".embedding_length");
    int nHeads = gguf.getInt(arch + ".attention.head_count");
    int nKvHeads = gguf.findInt(arch + ".attention.head_count_kv").orElse(nHeads);
    int headDim = gguf.findInt(arch + ".attention.key_length").orElse(dim / nHeads);
    int context = gguf.getInt(arch + ".context_length");
    int window = gguf.findInt(arch + ".attention.sliding_window").orElse(0);
    if (window > 0 && window < context) {
      throw new ModelFormatException(
          gguf.path()
              + ": "
              + arch
              + ".attention.sliding_window is "
              + window
              + " (below the context length "
              + context
              + "); sliding-window attention is not supported yet");
    }
    String scalingType = gguf.findString(arch + ".rope.scaling.type").orElse("none");
    float scalingFactor = gguf.findFloat(arch + ".rope.scaling.factor").orElse(1f);
    float linearFactor =
        switch (scalingType) {
          case "none" -> 1f;
          case "linear" -> scalingFactor;
          default ->
              throw new ModelFormatException(
                  gguf.path()
                      + ": "
                      + arch
                      + ".rope.scaling.type '"
                      + scalingType
                      + "' is not supported (supported: none, linear, and Llama 3 rope_freqs)");
        };
    Rope rope =
        new Rope(
            // llama.cpp runs Qwen2 with "neox" RoPE and converts it without permuting Q/K.
            arch.equals("qwen2") ? Rope.Style.SPLIT_HALVES : Rope.Style.INTERLEAVED,
            gguf.findInt(arch + ".rope.dimension_count").orElse(headDim),
            gguf.findFloat(arch + ".rope.freq_base").orElse(10000f),
            linearFactor,
            ropeFreqFactors);
    return new LlamaConfig(
        arch,
        dim,
        gguf.getInt(arch + ".block_count"),
        nHeads,
        nKvHeads,
        headDim,
        gguf.getInt(arch + ".feed_forward_length"),
        gguf.tensor("token_embd.weight").rows(),
        context,
        gguf.findFloat(arch + ".attention.layer_norm_rms_epsilon").orElse(1e-5f),
        rope);
  }
}
