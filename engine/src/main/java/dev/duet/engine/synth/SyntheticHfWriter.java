package dev.duet.engine.synth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.safetensors.SafetensorsWriter;
import dev.duet.engine.tokenizer.ByteLevelBpeTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a synthetic model as a Hugging Face directory: {@code config.json}, safetensors weights
 * (one file or shards with an index), {@code tokenizer.json} (byte-level BPE, {@link
 * SyntheticBpeVocabulary}), {@code tokenizer_config.json} (special tokens and a ChatML chat
 * template) and {@code generation_config.json}.
 *
 * <p>The weights are exactly those {@link SyntheticModelWriter} writes to GGUF for the same shape
 * and seed, under {@code transformers}' names, with one difference that is the point of the format:
 * a Llama's Q and K rows are in Hugging Face's order, which pairs dimensions {@code (i, i +
 * headDim/2)} for RoPE where GGUF pairs {@code (2i, 2i+1)} (llama.cpp's converter permutes them the
 * other way). A Qwen2 shape ({@link SyntheticModel#qkvBias()}) is not permuted, as llama.cpp does
 * not permute Qwen2. So both files describe one model and must give the same logits.
 *
 * <p>Stateless; concurrent calls must write different directories.
 */
public final class SyntheticHfWriter {

  /** The ChatML template the synthetic tokenizer config carries. */
  public static final String CHATML_TEMPLATE =
      "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' +"
          + " message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
          + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  private static final ObjectMapper JSON = new ObjectMapper();

  private SyntheticHfWriter() {}

  /**
   * Writes {@code shape} into {@code dir} (created if needed) with matrices as {@code dtype} (F32,
   * F16 or BF16); weights are sharded when they exceed {@code maxShardBytes}.
   */
  public static void write(
      SyntheticModel shape, long seed, GgmlType dtype, Path dir, long maxShardBytes)
      throws IOException {
    Files.createDirectories(dir);
    weights(shape, seed, dtype).writeSharded(dir, maxShardBytes);
    SyntheticBpeVocabulary vocab = SyntheticBpeVocabulary.build(shape.vocabSize());
    JSON.writerWithDefaultPrettyPrinter()
        .writeValue(dir.resolve("config.json").toFile(), config(shape, dtype, vocab));
    JSON.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizer(vocab));
    ObjectNode tc = JSON.createObjectNode();
    tc.put("bos_token", SyntheticBpeVocabulary.SPECIALS.get(0));
    tc.put("eos_token", SyntheticBpeVocabulary.SPECIALS.get(1));
    tc.put("add_bos_token", true);
    tc.put("model_max_length", shape.contextLength());
    tc.put("chat_template", CHATML_TEMPLATE);
    JSON.writerWithDefaultPrettyPrinter()
        .writeValue(dir.resolve("tokenizer_config.json").toFile(), tc);
    ObjectNode gen = JSON.createObjectNode();
    gen.put("bos_token_id", vocab.bosId());
    gen.put("eos_token_id", vocab.eosId());
    JSON.writeValue(dir.resolve("generation_config.json").toFile(), gen);
  }

  private static SafetensorsWriter weights(SyntheticModel shape, long seed, GgmlType dtype) {
    int dim = shape.dim();
    int kvDim = shape.kvDim();
    int hidden = shape.hiddenDim();
    int headDim = shape.headDim();
    boolean permute = !shape.qkvBias();
    SafetensorsWriter w = new SafetensorsWriter().putMetadata("format", "pt");
    matrix(
        w, seed, dtype, "model.embed_tokens.weight", "token_embd.weight", dim, shape.vocabSize());
    for (int i = 0; i < shape.nLayers(); i++) {
      String hf = "model.layers." + i + ".";
      String gg = "blk." + i + ".";
      norm(w, seed, hf + "input_layernorm.weight", gg + "attn_norm.weight", dim);
      w.addTensor(
          hf + "self_attn.q_proj.weight",
          dtype,
          new long[] {dim, dim},
          () -> {
            float[] v = SyntheticModelWriter.matrixValues(seed, gg + "attn_q.weight", dim, dim);
            return permute ? toHfRopeOrder(v, dim, headDim) : v;
          });
      w.addTensor(
          hf + "self_attn.k_proj.weight",
          dtype,
          new long[] {kvDim, dim},
          () -> {
            float[] v = SyntheticModelWriter.matrixValues(seed, gg + "attn_k.weight", dim, kvDim);
            return permute ? toHfRopeOrder(v, dim, headDim) : v;
          });
      matrix(w, seed, dtype, hf + "self_attn.v_proj.weight", gg + "attn_v.weight", dim, kvDim);
      matrix(w, seed, dtype, hf + "self_attn.o_proj.weight", gg + "attn_output.weight", dim, dim);
      if (shape.qkvBias()) {
        bias(w, seed, hf + "self_attn.q_proj.bias", gg + "attn_q.bias", dim);
        bias(w, seed, hf + "self_attn.k_proj.bias", gg + "attn_k.bias", kvDim);
        bias(w, seed, hf + "self_attn.v_proj.bias", gg + "attn_v.bias", kvDim);
      }
      norm(w, seed, hf + "post_attention_layernorm.weight", gg + "ffn_norm.weight", dim);
      matrix(w, seed, dtype, hf + "mlp.gate_proj.weight", gg + "ffn_gate.weight", dim, hidden);
      matrix(w, seed, dtype, hf + "mlp.up_proj.weight", gg + "ffn_up.weight", dim, hidden);
      matrix(w, seed, dtype, hf + "mlp.down_proj.weight", gg + "ffn_down.weight", hidden, dim);
    }
    norm(w, seed, "model.norm.weight", "output_norm.weight", dim);
    if (!shape.tiedEmbeddings()) {
      matrix(w, seed, dtype, "lm_head.weight", "output.weight", dim, shape.vocabSize());
    }
    return w;
  }

  /**
   * Reorders the rows of a Q or K projection from GGUF's RoPE pairing to Hugging Face's: within
   * each head, GGUF row {@code 2i} becomes row {@code i} and row {@code 2i+1} becomes row {@code i
   * + headDim/2} (the inverse of llama.cpp's {@code permute}).
   *
   * @param rows (outRows, rowLength) row-major
   */
  public static float[] toHfRopeOrder(float[] rows, int rowLength, int headDim) {
    float[] out = new float[rows.length];
    int outRows = rows.length / rowLength;
    int half = headDim / 2;
    for (int r = 0; r < outRows; r++) {
      int head = r / headDim;
      int j = r % headDim;
      int ggufRow = head * headDim + (j < half ? 2 * j : 2 * (j - half) + 1);
      System.arraycopy(rows, ggufRow * rowLength, out, r * rowLength, rowLength);
    }
    return out;
  }

  private static void matrix(
      SafetensorsWriter w,
      long seed,
      GgmlType dtype,
      String name,
      String ggufName,
      int rowLength,
      int rows) {
    w.addTensor(
        name,
        dtype,
        new long[] {rows, rowLength},
        () -> SyntheticModelWriter.matrixValues(seed, ggufName, rowLength, rows));
  }

  private static void norm(SafetensorsWriter w, long seed, String name, String ggufName, int n) {
    w.addTensor(
        name,
        GgmlType.F32,
        new long[] {n},
        () -> SyntheticModelWriter.normValues(seed, ggufName, n));
  }

  private static void bias(SafetensorsWriter w, long seed, String name, String ggufName, int n) {
    w.addTensor(
        name,
        GgmlType.F32,
        new long[] {n},
        () -> SyntheticModelWriter.biasValues(seed, ggufName, n));
  }

  private static ObjectNode config(SyntheticModel s, GgmlType dtype, SyntheticBpeVocabulary v) {
    ObjectNode c = JSON.createObjectNode();
    boolean qwen = s.qkvBias();
    c.putArray("architectures").add(qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
    c.put("model_type", qwen ? "qwen2" : "llama");
    c.put("hidden_size", s.dim());
    c.put("intermediate_size", s.hiddenDim());
    c.put("num_hidden_layers", s.nLayers());
    c.put("num_attention_heads", s.nHeads());
    c.put("num_key_value_heads", s.nKvHeads());
    c.put("head_dim", s.headDim());
    c.put("hidden_act", "silu");
    c.put("max_position_embeddings", s.contextLength());
    c.put("rms_norm_eps", s.rmsEps());
    c.put("rope_theta", s.ropeTheta());
    c.putNull("rope_scaling");
    c.put("tie_word_embeddings", s.tiedEmbeddings());
    c.put("vocab_size", s.vocabSize());
    c.put("bos_token_id", v.bosId());
    c.put("eos_token_id", v.eosId());
    c.put(
        "torch_dtype",
        switch (dtype) {
          case F32 -> "float32";
          case F16 -> "float16";
          case BF16 -> "bfloat16";
          default -> throw new IllegalArgumentException("safetensors cannot hold " + dtype);
        });
    if (qwen) {
      c.put("use_sliding_window", false);
      c.put("sliding_window", s.contextLength());
    }
    return c;
  }

  private static ObjectNode tokenizer(SyntheticBpeVocabulary v) {
    ObjectNode t = JSON.createObjectNode();
    t.put("version", "1.0");
    ArrayNode added = t.putArray("added_tokens");
    List<String> pieces = v.pieces();
    for (int id = v.bosId(); id < pieces.size(); id++) {
      ObjectNode a = added.addObject();
      a.put("id", id);
      a.put("content", pieces.get(id));
      a.put("single_word", false);
      a.put("lstrip", false);
      a.put("rstrip", false);
      a.put("normalized", false);
      a.put("special", true);
    }
    t.putNull("normalizer");
    ObjectNode pre = t.putObject("pre_tokenizer");
    pre.put("type", "Sequence");
    ArrayNode pres = pre.putArray("pretokenizers");
    ObjectNode split = pres.addObject();
    split.put("type", "Split");
    split.putObject("pattern").put("Regex", ByteLevelBpeTokenizer.LLAMA3_PATTERN);
    split.put("behavior", "Isolated");
    split.put("invert", false);
    ObjectNode byteLevel = pres.addObject();
    byteLevel.put("type", "ByteLevel");
    byteLevel.put("add_prefix_space", false);
    byteLevel.put("trim_offsets", true);
    byteLevel.put("use_regex", false);
    ObjectNode post = t.putObject("post_processor");
    post.put("type", "TemplateProcessing");
    post.putArray("single")
        .add(special(pieces.get(v.bosId())))
        .addObject()
        .putObject("Sequence")
        .put("id", "A")
        .put("type_id", 0);
    ObjectNode decoder = t.putObject("decoder");
    decoder.put("type", "ByteLevel");
    ObjectNode model = t.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.put("byte_fallback", false);
    ObjectNode vocab = model.putObject("vocab");
    for (int id = 0; id < v.bosId(); id++) {
      vocab.put(pieces.get(id), id);
    }
    ArrayNode merges = model.putArray("merges");
    v.merges().forEach(merges::add);
    return t;
  }

  private static ObjectNode special(String token) {
    ObjectNode n = JSON.createObjectNode();
    n.putObject("SpecialToken").put("id", token).put("type_id", 0);
    return n;
  }
}
