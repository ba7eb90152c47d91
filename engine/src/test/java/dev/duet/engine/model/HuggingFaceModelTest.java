package dev.duet.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.kv.KvLayout;
import dev.duet.engine.kv.KvSequence;
import dev.duet.engine.safetensors.SafetensorsModel;
import dev.duet.engine.synth.SyntheticBpeVocabulary;
import dev.duet.engine.synth.SyntheticHfWriter;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import dev.duet.engine.tensor.ComputePool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hugging Face directories load into the same model as GGUF files: against an independent
 * transcription of {@code transformers}' forward pass, against the GGUF of the same weights in the
 * other RoPE convention, across shards and dtypes.
 */
class HuggingFaceModelTest {

  private static final long SEED = 7;
  private static final int[] TOKENS = {300, 5, 17, 260, 99, 42, 280, 3, 64, 311, 128, 7};

  @TempDir static Path tmp;
  private static ComputePool pool;

  @BeforeAll
  static void startPool() {
    pool = new ComputePool(2);
  }

  @AfterAll
  static void stopPool() {
    pool.close();
  }

  private static Path hfDir(String preset, GgmlType type, long maxShardBytes) throws IOException {
    Path dir = tmp.resolve(preset + "-" + type + "-" + maxShardBytes);
    if (!Files.exists(dir)) {
      SyntheticHfWriter.write(SyntheticModel.preset(preset), SEED, type, dir, maxShardBytes);
    }
    return dir;
  }

  private static Path hfDir(String preset) throws IOException {
    return hfDir(preset, GgmlType.F32, Long.MAX_VALUE);
  }

  private static Path gguf(String preset, GgmlType type) throws IOException {
    Path file = tmp.resolve(preset + "-" + type + ".gguf");
    if (!Files.exists(file)) {
      SyntheticModelWriter.write(SyntheticModel.preset(preset), SEED, type, file);
    }
    return file;
  }

  /** Logits after each token of {@link #TOKENS}, prefilled in one batch. */
  private static float[][] logits(Path model) {
    try (LlamaModel m = LlamaModel.load(model, pool)) {
      LlamaConfig c = m.config();
      try (KvCachePool cache =
          new KvCachePool(KvLayout.of(c.nLayers(), c.nKvHeads(), c.headDim(), 4, KvDtype.F32))) {
        KvSequence seq = cache.newSequence();
        seq.reserve(TOKENS.length);
        List<BatchRow> rows = new ArrayList<>();
        for (int i = 0; i < TOKENS.length; i++) {
          rows.add(new BatchRow(seq, i, TOKENS[i], true));
        }
        return m.forward(rows, cache);
      }
    }
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny", "gqa", "qwen-tiny"})
  void directoryMatchesAPlainTranscriptionOfTheTransformersForwardPass(String preset)
      throws IOException {
    Path dir = hfDir(preset);
    float[][] duet = logits(dir);
    double[] reference;
    try (SafetensorsModel st = SafetensorsModel.open(dir)) {
      reference = new HfReferenceForward(st).lastLogits(TOKENS);
    }
    float[] last = duet[TOKENS.length - 1];
    double max = 0;
    for (int i = 0; i < last.length; i++) {
      max = Math.max(max, Math.abs(last[i] - reference[i]));
    }
    assertThat(max).as("max |duet - reference|").isLessThan(2e-4);
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny", "gqa"})
  void splitHalvesRopeOnPermutedWeightsGivesTheLogitsOfInterleavedRope(String preset)
      throws IOException {
    float[][] hf = logits(hfDir(preset));
    float[][] gguf = logits(gguf(preset, GgmlType.F32));
    for (int t = 0; t < TOKENS.length; t++) {
      // Same values, different summation order inside each head's dot products.
      assertThat(maxAbsDiff(hf[t], gguf[t])).as("position %d", t).isLessThan(1e-4);
    }
  }

  @Test
  void qwen2DirectoryAndQwen2GgufAreBitIdentical() throws IOException {
    float[][] hf = logits(hfDir("qwen-tiny"));
    float[][] gguf = logits(gguf("qwen-tiny", GgmlType.F32));
    for (int t = 0; t < TOKENS.length; t++) {
      assertThat(hf[t]).as("position %d", t).containsExactly(gguf[t]);
    }
  }

  @Test
  void shardedDirectoryGivesTheLogitsOfASingleFile() throws IOException {
    Path sharded = hfDir("gqa", GgmlType.F32, 64 * 1024);
    assertThat(sharded.resolve("model.safetensors.index.json")).exists();
    float[][] one = logits(hfDir("gqa"));
    float[][] many = logits(sharded);
    for (int t = 0; t < TOKENS.length; t++) {
      assertThat(many[t]).containsExactly(one[t]);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"F16", "BF16"})
  void halfPrecisionDirectoryMatchesTheGgufOfTheSameDtype(String dtype) throws IOException {
    GgmlType type = GgmlType.valueOf(dtype);
    float[][] hf = logits(hfDir("tiny", type, Long.MAX_VALUE));
    float[][] gguf = logits(gguf("tiny", type));
    for (int t = 0; t < TOKENS.length; t++) {
      assertThat(maxAbsDiff(hf[t], gguf[t])).isLessThan(1e-4);
    }
  }

  @Test
  void directoryBringsItsConfigurationTokenizerAndChatTemplate() throws IOException {
    try (LlamaModel m = LlamaModel.load(hfDir("qwen-tiny"), pool)) {
      assertThat(m.format()).isEqualTo(LlamaModel.Format.SAFETENSORS);
      LlamaConfig c = m.config();
      assertThat(c.architecture()).isEqualTo("qwen2");
      assertThat(c.rope().style()).isEqualTo(Rope.Style.SPLIT_HALVES);
      assertThat(c.rope().theta()).isEqualTo(1e6f);
      assertThat(c.rmsEps()).isEqualTo(1e-6f);
      assertThat(m.weights().hasQkvBias()).isTrue();
      assertThat(m.weights().output()).isSameAs(m.weights().tokenEmbedding());
      SyntheticBpeVocabulary v = SyntheticBpeVocabulary.build(c.vocabSize());
      assertThat(m.tokenizer().bosId()).isEqualTo(v.bosId());
      assertThat(m.tokenizer().eosId()).isEqualTo(v.eosId());
      int[] ids = m.tokenizer().encode("the cat sat on the mat");
      assertThat(ids[0]).isEqualTo(v.bosId());
      assertThat(ids.length).as("merges apply").isLessThan("the cat sat on the mat".length());
      assertThat(m.tokenizer().decode(ids, false)).isEqualTo("the cat sat on the mat");
      assertThat(m.chatTemplateSource()).contains(SyntheticHfWriter.CHATML_TEMPLATE);
    }
  }

  @Test
  void missingTokenizerIsNamed() throws IOException {
    Path dir = copyOf(hfDir("tiny"), "no-tokenizer");
    Files.delete(dir.resolve("tokenizer.json"));
    assertThatThrownBy(() -> LlamaModel.load(dir, pool))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("tokenizer.json")
        .hasMessageContaining(dir.toString());
  }

  @Test
  void untiedModelWithoutLmHeadNamesTheTensor() throws IOException {
    Path dir = copyOf(hfDir("tiny"), "no-head");
    String config = Files.readString(dir.resolve("config.json"));
    Files.writeString(
        dir.resolve("config.json"),
        config.replace("\"tie_word_embeddings\" : false", "\"tie_word_embeddings\" : true"));
    // Tied now: loads without lm_head.weight being used.
    try (LlamaModel m = LlamaModel.load(dir, pool)) {
      assertThat(m.weights().output()).isSameAs(m.weights().tokenEmbedding());
    }
    Path broken = copyOf(hfDir("qwen-tiny"), "qwen-untied");
    String qc = Files.readString(broken.resolve("config.json"));
    Files.writeString(
        broken.resolve("config.json"),
        qc.replace("\"tie_word_embeddings\" : true", "\"tie_word_embeddings\" : false"));
    assertThatThrownBy(() -> LlamaModel.load(broken, pool))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("missing tensor lm_head.weight");
  }

  private static Path copyOf(Path dir, String name) throws IOException {
    Path out = tmp.resolve(name);
    Files.createDirectories(out);
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.copy(f, out.resolve(f.getFileName()));
      }
    }
    return out;
  }
}
