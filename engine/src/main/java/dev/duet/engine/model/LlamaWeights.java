package dev.duet.engine.model;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlCodec;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.gguf.GgufFile;
import dev.duet.engine.gguf.GgufTensorInfo;
import dev.duet.engine.tensor.WeightMatrix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Llama model's weights, memory-mapped from a GGUF file (names as llama.cpp writes them).
 *
 * <p>Matrices are (out, in) row-major: GGUF shape {@code [in, out]}. Norm weights are small and
 * decoded to F32 arrays. The output head falls back to the token embedding when the file has no
 * {@code output.weight} (tied embeddings).
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

  /** Reads and shape-checks every tensor the configuration calls for. */
  public static LlamaWeights load(GgufFile gguf, LlamaConfig c) {
    WeightMatrix embedding = matrix(gguf, "token_embd.weight", c.vocabSize(), c.dim());
    List<Layer> layers = new ArrayList<>(c.nLayers());
    for (int i = 0; i < c.nLayers(); i++) {
      String p = "blk." + i + ".";
      layers.add(
          new Layer(
              vector(gguf, p + "attn_norm.weight", c.dim()),
              matrix(gguf, p + "attn_q.weight", c.qDim(), c.dim()),
              matrix(gguf, p + "attn_k.weight", c.kvDim(), c.dim()),
              matrix(gguf, p + "attn_v.weight", c.kvDim(), c.dim()),
              matrix(gguf, p + "attn_output.weight", c.dim(), c.qDim()),
              vector(gguf, p + "ffn_norm.weight", c.dim()),
              matrix(gguf, p + "ffn_gate.weight", c.hiddenDim(), c.dim()),
              matrix(gguf, p + "ffn_up.weight", c.hiddenDim(), c.dim()),
              matrix(gguf, p + "ffn_down.weight", c.dim(), c.hiddenDim())));
    }
    WeightMatrix output =
        gguf.findTensor("output.weight").isPresent()
            ? matrix(gguf, "output.weight", c.vocabSize(), c.dim())
            : embedding;
    return new LlamaWeights(embedding, layers, vector(gguf, "output_norm.weight", c.dim()), output);
  }

  /** The Llama 3 {@code rope_freqs.weight} factors, or null when the file has none. */
  public static float[] ropeFreqFactors(GgufFile gguf) {
    return gguf.findTensor("rope_freqs.weight").map(t -> decode(gguf, t)).orElse(null);
  }

  private static WeightMatrix matrix(GgufFile gguf, String name, int rows, int cols) {
    GgufTensorInfo t = gguf.tensor(name);
    if (t.shape().length != 2 || t.shape()[0] != cols || t.shape()[1] != rows) {
      throw new ModelFormatException(
          gguf.path()
              + ": tensor "
              + name
              + " has shape "
              + Arrays.toString(t.shape())
              + ", expected ["
              + cols
              + ", "
              + rows
              + "]");
    }
    return WeightMatrix.of(name, t.type(), gguf.tensorData(t), rows, cols);
  }

  private static float[] vector(GgufFile gguf, String name, int length) {
    GgufTensorInfo t = gguf.tensor(name);
    if (t.elementCount() != length) {
      throw new ModelFormatException(
          gguf.path()
              + ": tensor "
              + name
              + " has "
              + t.elementCount()
              + " elements, expected "
              + length);
    }
    return decode(gguf, t);
  }

  private static float[] decode(GgufFile gguf, GgufTensorInfo t) {
    if (t.type().quantized() && t.elementCount() % t.type().blockSize() != 0) {
      throw new ModelFormatException(gguf.path() + ": tensor " + t.name() + " is not whole blocks");
    }
    float[] out = new float[Math.toIntExact(t.elementCount())];
    GgmlCodec.decode(t.type(), gguf.tensorData(t), 0, out, 0, out.length);
    return out;
  }

  /** The dtype most matrices use (what {@code general.file_type} would say). */
  public GgmlType dominantType() {
    return layers.isEmpty() ? output.type() : layers.get(0).wq().type();
  }
}
