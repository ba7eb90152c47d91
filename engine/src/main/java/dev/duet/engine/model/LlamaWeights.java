package dev.duet.engine.model;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlCodec;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.gguf.GgufFile;
import dev.duet.engine.model.TensorNames.Part;
import dev.duet.engine.tensor.WeightMatrix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * A Llama model's weights, memory-mapped from a GGUF file or a safetensors directory (see {@link
 * TensorNames} for the two naming schemes).
 *
 * <p>Matrices are (out, in) row-major: shape {@code [in, out]} innermost first. Norm weights and
 * biases are small and decoded to F32 arrays. The output head falls back to the token embedding
 * when the model has no output tensor (tied embeddings).
 *
 * @param tokenEmbedding (vocab, dim)
 * @param layers one per transformer block
 * @param outputNorm (dim)
 * @param output (vocab, dim); the embedding itself when tied
 */
public record LlamaWeights(
    WeightMatrix tokenEmbedding, List<Layer> layers, float[] outputNorm, WeightMatrix output) {

  /**
   * One transformer block.
   *
   * @param attnNorm (dim)
   * @param wq (nHeads*headDim, dim)
   * @param wk (nKvHeads*headDim, dim)
   * @param wv (nKvHeads*headDim, dim)
   * @param wo (dim, nHeads*headDim)
   * @param bq (nHeads*headDim) query bias (Qwen2), or null
   * @param bk (nKvHeads*headDim) key bias, or null
   * @param bv (nKvHeads*headDim) value bias, or null
   * @param ffnNorm (dim)
   * @param wGate (hidden, dim)
   * @param wUp (hidden, dim)
   * @param wDown (dim, hidden)
   */
  public record Layer(
      float[] attnNorm,
      WeightMatrix wq,
      WeightMatrix wk,
      WeightMatrix wv,
      WeightMatrix wo,
      float[] bq,
      float[] bk,
      float[] bv,
      float[] ffnNorm,
      WeightMatrix wGate,
      WeightMatrix wUp,
      WeightMatrix wDown) {}

  public LlamaWeights {
    layers = List.copyOf(layers);
  }

  /** Bytes of all matrices: what one decode step reads from memory (embedding rows aside). */
  public long matrixBytes() {
    long bytes = output.byteSize();
    for (Layer l : layers) {
      bytes +=
          l.wq.byteSize()
              + l.wk.byteSize()
              + l.wv.byteSize()
              + l.wo.byteSize()
              + l.wGate.byteSize()
              + l.wUp.byteSize()
              + l.wDown.byteSize();
    }
    return bytes;
  }

  /** Whether the attention projections carry biases (Qwen2). */
  public boolean hasQkvBias() {
    return !layers.isEmpty() && layers.get(0).bq() != null;
  }

  /** Reads and shape-checks every tensor of a GGUF model. */
  public static LlamaWeights load(GgufFile gguf, LlamaConfig c) {
    TensorSource src = TensorSource.of(gguf);
    return load(src, TensorNames.GGUF, c, src.find(TensorNames.GGUF.output).isEmpty());
  }

  /**
   * Reads and shape-checks every tensor the configuration calls for. Biases are loaded for all
   * three of Q, K and V or for none. With {@code tied} the output head is the token embedding.
   */
  static LlamaWeights load(TensorSource src, TensorNames names, LlamaConfig c, boolean tied) {
    WeightMatrix embedding = matrix(src, names.embedding, c.vocabSize(), c.dim());
    boolean biased = src.find(names.layer(0, Part.Q_BIAS)).isPresent();
    List<Layer> layers = new ArrayList<>(c.nLayers());
    for (int i = 0; i < c.nLayers(); i++) {
      int layer = i;
      Function<Part, String> n = part -> names.layer(layer, part);
      layers.add(
          new Layer(
              vector(src, n.apply(Part.ATTN_NORM), c.dim()),
              matrix(src, n.apply(Part.Q), c.qDim(), c.dim()),
              matrix(src, n.apply(Part.K), c.kvDim(), c.dim()),
              matrix(src, n.apply(Part.V), c.kvDim(), c.dim()),
              matrix(src, n.apply(Part.O), c.dim(), c.qDim()),
              biased ? vector(src, n.apply(Part.Q_BIAS), c.qDim()) : null,
              biased ? vector(src, n.apply(Part.K_BIAS), c.kvDim()) : null,
              biased ? vector(src, n.apply(Part.V_BIAS), c.kvDim()) : null,
              vector(src, n.apply(Part.FFN_NORM), c.dim()),
              matrix(src, n.apply(Part.GATE), c.hiddenDim(), c.dim()),
              matrix(src, n.apply(Part.UP), c.hiddenDim(), c.dim()),
              matrix(src, n.apply(Part.DOWN), c.dim(), c.hiddenDim())));
    }
    WeightMatrix output = tied ? embedding : matrix(src, names.output, c.vocabSize(), c.dim());
    return new LlamaWeights(embedding, layers, vector(src, names.outputNorm, c.dim()), output);
  }

  /** The Llama 3 {@code rope_freqs.weight} factors of a GGUF file, or null when it has none. */
  public static float[] ropeFreqFactors(GgufFile gguf) {
    return TensorSource.of(gguf).find("rope_freqs.weight").map(LlamaWeights::decode).orElse(null);
  }

  private static TensorSource.Tensor require(TensorSource src, String name) {
    return src.find(name)
        .orElseThrow(() -> new ModelFormatException(src.location() + ": missing tensor " + name));
  }

  private static WeightMatrix matrix(TensorSource src, String name, int rows, int cols) {
    TensorSource.Tensor t = require(src, name);
    if (t.shape().length != 2 || t.shape()[0] != cols || t.shape()[1] != rows) {
      throw new ModelFormatException(
          src.location()
              + ": tensor "
              + name
              + " has shape "
              + Arrays.toString(t.shape())
              + " (innermost first), expected ["
              + cols
              + ", "
              + rows
              + "]");
    }
    return WeightMatrix.of(name, t.type(), t.data(), rows, cols);
  }

  private static float[] vector(TensorSource src, String name, int length) {
    TensorSource.Tensor t = require(src, name);
    if (t.elementCount() != length) {
      throw new ModelFormatException(
          src.location()
              + ": tensor "
              + name
              + " has "
              + t.elementCount()
              + " elements, expected "
              + length);
    }
    return decode(t);
  }

  private static float[] decode(TensorSource.Tensor t) {
    if (t.type().quantized() && t.elementCount() % t.type().blockSize() != 0) {
      throw new ModelFormatException("tensor " + t.name() + " is not whole blocks");
    }
    float[] out = new float[Math.toIntExact(t.elementCount())];
    GgmlCodec.decode(t.type(), t.data(), 0, out, 0, out.length);
    return out;
  }

  /** The dtype most matrices use (what {@code general.file_type} would say). */
  public GgmlType dominantType() {
    return layers.isEmpty() ? output.type() : layers.get(0).wq().type();
  }
}
