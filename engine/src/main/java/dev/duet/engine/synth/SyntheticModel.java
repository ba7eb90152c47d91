package dev.duet.engine.synth;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The shape of a synthetic Llama-architecture model: sizes and hyperparameters, no weights. {@link
 * SyntheticModelWriter} turns a shape plus a seed into a GGUF file.
 *
 * <p>Immutable; thread-safe.
 *
 * @param dim embedding width (model dimension)
 * @param nLayers transformer blocks
 * @param nHeads query heads; {@code dim / nHeads} is the head size
 * @param nKvHeads key/value heads (fewer than {@code nHeads} for grouped-query attention)
 * @param hiddenDim feed-forward (SwiGLU) width
 * @param vocabSize tokens in the vocabulary, at least {@link SyntheticVocabulary#FIRST_NORMAL_ID}+1
 * @param contextLength maximum sequence length, in tokens
 * @param ropeTheta RoPE frequency base
 * @param rmsEps epsilon of RMSNorm
 * @param tiedEmbeddings whether the output projection reuses {@code token_embd.weight} (no {@code
 *     output.weight} tensor is written)
 * @param qkvBias whether the attention's Q/K/V projections carry biases, as Qwen2's do (the model
 *     is then written as a {@code qwen2} architecture)
 */
public record SyntheticModel(
    String name,
    int dim,
    int nLayers,
    int nHeads,
    int nKvHeads,
    int hiddenDim,
    int vocabSize,
    int contextLength,
    float ropeTheta,
    float rmsEps,
    boolean tiedEmbeddings,
    boolean qkvBias) {

  private static final Map<String, SyntheticModel> PRESETS = new LinkedHashMap<>();

  static {
    add(new SyntheticModel("tiny", 64, 2, 4, 2, 160, 320, 256, 10000f, 1e-5f, false, false));
    add(new SyntheticModel("small", 288, 6, 6, 6, 768, 32000, 512, 10000f, 1e-5f, false, false));
    add(
        new SyntheticModel(
            "llama-110m", 768, 12, 12, 12, 2048, 32000, 1024, 10000f, 1e-5f, true, false));
    add(new SyntheticModel("gqa", 128, 3, 8, 2, 256, 512, 512, 10000f, 1e-5f, false, false));
    add(new SyntheticModel("qwen-tiny", 64, 2, 4, 2, 160, 320, 256, 1000000f, 1e-6f, true, true));
  }

  private static void add(SyntheticModel m) {
    PRESETS.put(m.name(), m);
  }

  public SyntheticModel {
    Objects.requireNonNull(name, "name");
    positive("dim", dim);
    positive("nLayers", nLayers);
    positive("nHeads", nHeads);
    positive("nKvHeads", nKvHeads);
    positive("hiddenDim", hiddenDim);
    positive("contextLength", contextLength);
    if (dim % nHeads != 0 || (dim / nHeads) % 2 != 0) {
      throw new IllegalArgumentException(
          "dim " + dim + " must split into " + nHeads + " heads of even size (RoPE rotates pairs)");
    }
    if (nHeads % nKvHeads != 0) {
      throw new IllegalArgumentException(
          "nHeads " + nHeads + " must be a multiple of nKvHeads " + nKvHeads);
    }
    if (vocabSize <= SyntheticVocabulary.FIRST_NORMAL_ID) {
      throw new IllegalArgumentException(
          "vocabSize "
              + vocabSize
              + " must exceed the "
              + SyntheticVocabulary.FIRST_NORMAL_ID
              + " special and byte tokens");
    }
    if (!(ropeTheta > 0) || !(rmsEps > 0)) {
      throw new IllegalArgumentException("ropeTheta and rmsEps must be positive");
    }
  }

  private static void positive(String what, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException(what + " must be positive, got " + v);
    }
  }

  /**
   * A named preset: {@code tiny}, {@code small} (the stories15M shape), {@code llama-110m}, {@code
   * gqa}, {@code qwen-tiny} (tiny with Qwen2's Q/K/V biases and tied embeddings).
   *
   * @throws IllegalArgumentException for an unknown name, listing the presets
   */
  public static SyntheticModel preset(String name) {
    SyntheticModel m = PRESETS.get(name);
    if (m == null) {
      throw new IllegalArgumentException(
          "unknown synthetic model preset '"
              + name
              + "'; presets: "
              + String.join(", ", PRESETS.keySet()));
    }
    return m;
  }

  /** Names of the presets, in a stable order. */
  public static java.util.List<String> presetNames() {
    return java.util.List.copyOf(PRESETS.keySet());
  }

  /** This shape with or without tied input/output embeddings. */
  public SyntheticModel withTiedEmbeddings(boolean tied) {
    return new SyntheticModel(
        name,
        dim,
        nLayers,
        nHeads,
        nKvHeads,
        hiddenDim,
        vocabSize,
        contextLength,
        ropeTheta,
        rmsEps,
        tied,
        qkvBias);
  }

  /** The GGUF {@code general.architecture} this shape is written as. */
  public String architecture() {
    return qkvBias ? "qwen2" : "llama";
  }

  /** Elements per attention head. */
  public int headDim() {
    return dim / nHeads;
  }

  /** Width of the key and value projections: {@code nKvHeads * headDim()}. */
  public int kvDim() {
    return nKvHeads * headDim();
  }

  /** Total number of weights the model holds. */
  public long parameterCount() {
    long perLayer = 2L * dim + 2L * dim * dim + 2L * dim * kvDim() + 3L * dim * hiddenDim;
    long embeddings = (long) dim * vocabSize * (tiedEmbeddings ? 1 : 2);
    long biases = qkvBias ? dim + 2L * kvDim() : 0;
    return nLayers * (perLayer + biases) + embeddings + dim;
  }
}
