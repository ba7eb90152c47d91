package dev.duet.engine.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.duet.engine.gguf.GgmlCodec;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.gguf.GgufFile;
import dev.duet.engine.gguf.GgufTensorInfo;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SyntheticModelWriterTest {
  @TempDir Path dir;

  private static String sha256(Path p) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
  }

  private static float[] decode(GgufFile g, GgufTensorInfo t) {
    float[] out = new float[Math.toIntExact(t.elementCount())];
    GgmlCodec.decode(t.type(), g.tensorData(t), 0, out, 0, out.length);
    return out;
  }

  @ParameterizedTest
  @EnumSource(GgmlType.class)
  void writesTinyInEveryDtypeReadableAsALlamaGguf(GgmlType type) throws Exception {
    SyntheticModel m = SyntheticModel.preset("tiny");
    Path file = dir.resolve("tiny-" + type + ".gguf");
    SyntheticModelWriter.write(m, 7, type, file);

    try (GgufFile g = GgufFile.open(file)) {
      assertThat(g.getString("general.architecture")).isEqualTo("llama");
      assertThat(g.getString("general.name")).isEqualTo("tiny");
      assertThat(g.getInt("general.file_type")).isEqualTo(SyntheticModelWriter.fileType(type));
      assertThat(g.getInt("llama.context_length")).isEqualTo(256);
      assertThat(g.getInt("llama.embedding_length")).isEqualTo(64);
      assertThat(g.getInt("llama.block_count")).isEqualTo(2);
      assertThat(g.getInt("llama.feed_forward_length")).isEqualTo(160);
      assertThat(g.getInt("llama.attention.head_count")).isEqualTo(4);
      assertThat(g.getInt("llama.attention.head_count_kv")).isEqualTo(2);
      assertThat(g.getFloat("llama.attention.layer_norm_rms_epsilon")).isEqualTo(1e-5f);
      assertThat(g.getFloat("llama.rope.freq_base")).isEqualTo(10000f);
      assertThat(g.getInt("llama.rope.dimension_count")).isEqualTo(16);
      assertThat(g.getInt("llama.vocab_size")).isEqualTo(320);
      assertThat(g.getString("tokenizer.ggml.model")).isEqualTo("llama");
      assertThat(g.getInt("tokenizer.ggml.bos_token_id")).isEqualTo(1);
      assertThat(g.getInt("tokenizer.ggml.eos_token_id")).isEqualTo(2);
      assertThat(g.getInt("tokenizer.ggml.unknown_token_id")).isEqualTo(0);
      assertThat(g.getBoolean("tokenizer.ggml.add_bos_token")).isTrue();
      assertThat(g.getBoolean("tokenizer.ggml.add_space_prefix")).isTrue();

      String[] tokens = g.getStringArray("tokenizer.ggml.tokens");
      int[] types = g.getIntArray("tokenizer.ggml.token_type");
      assertThat(tokens).hasSize(320);
      assertThat(types).hasSize(320);
      assertThat(g.getFloatArray("tokenizer.ggml.scores")).hasSize(320);
      assertThat(tokens[1]).isEqualTo("<s>");
      SyntheticVocabularyTest.assertUniqueAndMergeReachable(tokens, types);

      assertThat(g.tensors()).hasSize(1 + 2 * 9 + 2);
      assertThat(g.tensor("token_embd.weight").shape()).containsExactly(64, 320);
      assertThat(g.tensor("output.weight").shape()).containsExactly(64, 320);
      assertThat(g.tensor("output_norm.weight").shape()).containsExactly(64);
      assertThat(g.tensor("blk.1.attn_q.weight").shape()).containsExactly(64, 64);
      assertThat(g.tensor("blk.1.attn_k.weight").shape()).containsExactly(64, 32);
      assertThat(g.tensor("blk.1.attn_v.weight").shape()).containsExactly(64, 32);
      assertThat(g.tensor("blk.1.attn_output.weight").shape()).containsExactly(64, 64);
      assertThat(g.tensor("blk.0.ffn_gate.weight").shape()).containsExactly(64, 160);
      assertThat(g.tensor("blk.0.ffn_up.weight").shape()).containsExactly(64, 160);
      assertThat(g.tensor("blk.0.ffn_down.weight").shape()).containsExactly(160, 64);
      assertThat(g.tensor("blk.0.attn_norm.weight").type()).isEqualTo(GgmlType.F32);
      assertThat(g.tensor("blk.0.ffn_norm.weight").type()).isEqualTo(GgmlType.F32);
      assertThat(g.tensor("blk.0.ffn_down.weight").type()).isEqualTo(type);
      assertThat(g.tensor("token_embd.weight").type()).isEqualTo(type);

      float[] norm = decode(g, g.tensor("blk.1.ffn_norm.weight"));
      for (float x : norm) {
        assertThat(x).isCloseTo(1f, within(0.1f));
      }
      assertStd(decode(g, g.tensor("blk.0.ffn_down.weight")), 1 / Math.sqrt(160));
      assertStd(decode(g, g.tensor("token_embd.weight")), 1.0);
    }
  }

  private static void assertStd(float[] v, double expected) {
    double sum = 0;
    double sq = 0;
    for (float x : v) {
      sum += x;
      sq += (double) x * x;
    }
    double mean = sum / v.length;
    double std = Math.sqrt(sq / v.length - mean * mean);
    assertThat(mean).isCloseTo(0, within(0.1 * expected));
    assertThat(std).isCloseTo(expected, within(0.1 * expected));
  }

  @Test
  void quantizedWeightsAreTheEncodedSeededValues() throws Exception {
    Path file = dir.resolve("gqa.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("gqa"), 99, GgmlType.Q4_0, file);
    try (GgufFile g = GgufFile.open(file)) {
      GgufTensorInfo t = g.tensor("blk.2.attn_k.weight");
      assertThat(t.shape()).containsExactly(128, 32);
      float[] expected =
          new SeededGaussian(99, "blk.2.attn_k.weight")
              .fill(128 * 32, 0f, (float) (1 / Math.sqrt(128)));
      assertThat(g.tensorData(t).toArray(ValueLayout.JAVA_BYTE))
          .containsExactly(GgmlCodec.encode(GgmlType.Q4_0, expected));
      assertThat(g.getInt("general.quantization_version")).isEqualTo(2);
    }
  }

  @Test
  void theSameSeedGivesAByteIdenticalFile() throws Exception {
    SyntheticModel gqa = SyntheticModel.preset("gqa");
    Path a = dir.resolve("a.gguf");
    Path b = dir.resolve("b.gguf");
    Path c = dir.resolve("c.gguf");
    SyntheticModelWriter.write(gqa, 1234, GgmlType.Q8_0, a);
    SyntheticModelWriter.write(gqa, 1234, GgmlType.Q8_0, b);
    SyntheticModelWriter.write(gqa, 1235, GgmlType.Q8_0, c);
    assertThat(sha256(a)).isEqualTo(sha256(b));
    assertThat(sha256(a)).isNotEqualTo(sha256(c));
    assertThat(Files.size(a)).isEqualTo(Files.size(c));
  }

  @Test
  void tiedEmbeddingsOmitTheOutputMatrix() throws Exception {
    Path file = dir.resolve("tied.gguf");
    SyntheticModel tied = SyntheticModel.preset("tiny").withTiedEmbeddings(true);
    SyntheticModelWriter.write(tied, 3, GgmlType.F16, file);
    try (GgufFile g = GgufFile.open(file)) {
      assertThat(g.findTensor("output.weight")).isEmpty();
      assertThat(g.findTensor("token_embd.weight")).isPresent();
      assertThat(g.tensors()).hasSize(1 + 2 * 9 + 1);
    }
  }

  @Test
  void writesTheStories15mShapeWithAFullVocabulary() throws Exception {
    Path file = dir.resolve("small.gguf");
    SyntheticModel small = SyntheticModel.preset("small");
    SyntheticModelWriter.write(small, 5, GgmlType.Q8_0, file);
    try (GgufFile g = GgufFile.open(file)) {
      long weights = 0;
      for (GgufTensorInfo t : g.tensors()) {
        weights += t.elementCount();
      }
      assertThat(weights).isEqualTo(small.parameterCount());
      String[] tokens = g.getStringArray("tokenizer.ggml.tokens");
      assertThat(tokens).hasSize(32000);
      assertThat(List.of(tokens)).contains("\u2581Once", "\u2581upon", "\u2581time");
      SyntheticVocabularyTest.assertUniqueAndMergeReachable(
          tokens, g.getIntArray("tokenizer.ggml.token_type"));
    }
  }
}
