package dev.duet.engine.synth;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes a synthetic Llama model as a GGUF file that llama.cpp-compatible loaders read: the {@code
 * llama.*} hyperparameters, a {@link SyntheticVocabulary} as a SentencePiece ("llama") tokenizer,
 * and seeded random weights under llama.cpp's tensor names.
 *
 * <p>Each tensor's values come from {@link SeededGaussian} keyed by the seed and the tensor name,
 * so a tensor does not depend on the others and the same seed always gives a byte-identical file.
 * Tensors are generated one at a time while the file is written, so only the largest tensor (the
 * embedding) is ever on the heap. Norm weights are F32 near 1; matrices are normal with standard
 * deviation {@code 1/sqrt(rowLength)} (embeddings 1) stored as the requested type.
 *
 * <p>Stateless; thread-safe (concurrent calls must write different files).
 */
public final class SyntheticModelWriter {
  private SyntheticModelWriter() {}

  /** Writes {@code shape} with weights drawn from {@code seed}, matrices as {@code weightType}. */
  public static void write(SyntheticModel shape, long seed, GgmlType weightType, Path out)
      throws IOException {
    write(shape, seed, weightType, null, out);
  }

  /**
   * As {@link #write(SyntheticModel, long, GgmlType, Path)}, also storing {@code chatTemplate} as
   * {@code tokenizer.chat_template} when it is not null.
   */
  public static void write(
      SyntheticModel shape, long seed, GgmlType weightType, String chatTemplate, Path out)
      throws IOException {
    int dim = shape.dim();
    int kvDim = shape.kvDim();
    int hidden = shape.hiddenDim();
    for (int rowLength : new int[] {dim, hidden}) {
      if (rowLength % weightType.blockSize() != 0) {
        throw new IllegalArgumentException(
            shape.name()
                + ": row length "
                + rowLength
                + " is not a multiple of the "
                + weightType
                + " block size "
                + weightType.blockSize());
      }
    }
    SyntheticVocabulary vocab = SyntheticVocabulary.build(shape.vocabSize());
    String arch = shape.architecture();
    GgufWriter w = new GgufWriter();
    w.putString("general.architecture", arch)
        .putString("general.name", shape.name())
        .putU32("general.file_type", fileType(weightType));
    if (weightType.quantized()) {
      w.putU32("general.quantization_version", 2);
    }
    w.putU32(arch + ".context_length", shape.contextLength())
        .putU32(arch + ".embedding_length", dim)
        .putU32(arch + ".block_count", shape.nLayers())
        .putU32(arch + ".feed_forward_length", hidden)
        .putU32(arch + ".attention.head_count", shape.nHeads())
        .putU32(arch + ".attention.head_count_kv", shape.nKvHeads())
        .putF32(arch + ".attention.layer_norm_rms_epsilon", shape.rmsEps())
        .putF32(arch + ".rope.freq_base", shape.ropeTheta())
        .putU32(arch + ".rope.dimension_count", shape.headDim())
        .putU32(arch + ".vocab_size", shape.vocabSize())
        .putString("tokenizer.ggml.model", "llama")
        .putStringArray("tokenizer.ggml.tokens", vocab.tokens())
        .putF32Array("tokenizer.ggml.scores", vocab.scores())
        .putI32Array("tokenizer.ggml.token_type", vocab.types())
        .putU32("tokenizer.ggml.bos_token_id", SyntheticVocabulary.BOS_ID)
        .putU32("tokenizer.ggml.eos_token_id", SyntheticVocabulary.EOS_ID)
        .putU32("tokenizer.ggml.unknown_token_id", SyntheticVocabulary.UNK_ID)
        .putBool("tokenizer.ggml.add_bos_token", true)
        .putBool("tokenizer.ggml.add_eos_token", false)
        .putBool("tokenizer.ggml.add_space_prefix", true);
    if (chatTemplate != null) {
      w.putString("tokenizer.chat_template", chatTemplate);
    }

    matrix(w, seed, weightType, "token_embd.weight", dim, shape.vocabSize());
    for (int i = 0; i < shape.nLayers(); i++) {
      String p = "blk." + i + ".";
      norm(w, seed, p + "attn_norm.weight", dim);
      matrix(w, seed, weightType, p + "attn_q.weight", dim, dim);
      matrix(w, seed, weightType, p + "attn_k.weight", dim, kvDim);
      matrix(w, seed, weightType, p + "attn_v.weight", dim, kvDim);
      matrix(w, seed, weightType, p + "attn_output.weight", dim, dim);
      if (shape.qkvBias()) {
        bias(w, seed, p + "attn_q.bias", dim);
        bias(w, seed, p + "attn_k.bias", kvDim);
        bias(w, seed, p + "attn_v.bias", kvDim);
      }
      norm(w, seed, p + "ffn_norm.weight", dim);
      matrix(w, seed, weightType, p + "ffn_gate.weight", dim, hidden);
      matrix(w, seed, weightType, p + "ffn_up.weight", dim, hidden);
      matrix(w, seed, weightType, p + "ffn_down.weight", hidden, dim);
    }
    norm(w, seed, "output_norm.weight", dim);
    if (!shape.tiedEmbeddings()) {
      matrix(w, seed, weightType, "output.weight", dim, shape.vocabSize());
    }
    w.write(out);
  }

  /** llama.cpp's {@code llama_ftype} for a file whose matrices are all {@code type}. */
  static int fileType(GgmlType type) {
    return switch (type) {
      case F32 -> 0;
      case F16 -> 1;
      case Q4_0 -> 2;
      case Q8_0 -> 7;
      case BF16 -> 32;
    };
  }

  /** A [rowLength, rows] matrix with std 1/sqrt(rowLength) (the embedding: 1). */
  private static void matrix(
      GgufWriter w, long seed, GgmlType type, String name, int rowLength, int rows) {
    w.addTensor(
        name, type, new long[] {rowLength, rows}, () -> matrixValues(seed, name, rowLength, rows));
  }

  /** An F32 RMSNorm weight vector near 1. */
  private static void norm(GgufWriter w, long seed, String name, int dim) {
    w.addTensor(name, GgmlType.F32, new long[] {dim}, () -> normValues(seed, name, dim));
  }

  /** An F32 projection bias. */
  private static void bias(GgufWriter w, long seed, String name, int n) {
    w.addTensor(name, GgmlType.F32, new long[] {n}, () -> biasValues(seed, name, n));
  }

  /** The values of the matrix {@code name}: {@code rows} rows of {@code rowLength}. */
  static float[] matrixValues(long seed, String name, int rowLength, int rows) {
    float std = name.equals("token_embd.weight") ? 1f : (float) (1 / Math.sqrt(rowLength));
    return new SeededGaussian(seed, name).fill(Math.multiplyExact(rowLength, rows), 0f, std);
  }

  /** The values of the norm weight {@code name}. */
  static float[] normValues(long seed, String name, int dim) {
    return new SeededGaussian(seed, name).fill(dim, 1f, 0.02f);
  }

  /** The values of the bias {@code name}: large enough to change what attention attends to. */
  static float[] biasValues(long seed, String name, int n) {
    return new SeededGaussian(seed, name).fill(n, 0f, 0.5f);
  }
}
