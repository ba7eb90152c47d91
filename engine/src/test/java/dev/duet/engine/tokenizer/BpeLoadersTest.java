package dev.duet.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.gguf.GgufFile;
import dev.duet.engine.gguf.GgufWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeLoadersTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> SAMPLES =
      List.of(
          "hello world",
          "ell 1234567 it's IT'S",
          "a\n\nb  c   d",
          "é漢😀 4512",
          "<|begin_of_text|>hi<sep><|end_of_text|>");

  @TempDir Path dir;

  private Path writeGguf() throws Exception {
    Path file = dir.resolve("bpe.gguf");
    new GgufWriter()
        .putString("general.architecture", "llama")
        .putString("tokenizer.ggml.model", "gpt2")
        .putString("tokenizer.ggml.pre", "llama-bpe")
        .putStringArray("tokenizer.ggml.tokens", BpeTestVocab.pieces())
        .putI32Array("tokenizer.ggml.token_type", BpeTestVocab.types())
        .putStringArray("tokenizer.ggml.merges", BpeTestVocab.MERGES)
        .putU32("tokenizer.ggml.bos_token_id", BpeTestVocab.BOS)
        .putU32("tokenizer.ggml.eos_token_id", BpeTestVocab.EOS)
        .putBool("tokenizer.ggml.add_bos_token", true)
        .addTensor("output_norm.weight", GgmlType.F32, new long[] {8}, () -> new float[8])
        .write(file);
    return file;
  }

  private Path writeTokenizerJson(boolean pairMerges, String modelType) throws Exception {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode model = root.putObject("model");
    model.put("type", modelType);
    ObjectNode vocab = model.putObject("vocab");
    for (Map.Entry<String, Integer> e : BpeTestVocab.normalVocab().entrySet()) {
      vocab.put(e.getKey(), e.getValue());
    }
    ArrayNode merges = model.putArray("merges");
    for (String m : BpeTestVocab.MERGES) {
      if (pairMerges) {
        String[] parts = m.split(" ");
        merges.addArray().add(parts[0]).add(parts[1]);
      } else {
        merges.add(m);
      }
    }
    ArrayNode added = root.putArray("added_tokens");
    String[] pieces = BpeTestVocab.pieces();
    for (int id : new int[] {BpeTestVocab.BOS, BpeTestVocab.EOS, BpeTestVocab.SEP}) {
      added
          .addObject()
          .put("id", id)
          .put("content", pieces[id])
          .put("special", id != BpeTestVocab.SEP);
    }
    ObjectNode pre = root.putObject("pre_tokenizer");
    pre.put("type", "Sequence");
    ArrayNode pres = pre.putArray("pretokenizers");
    ObjectNode split = pres.addObject();
    split.put("type", "Split").put("behavior", "Isolated").put("invert", false);
    split.putObject("pattern").put("Regex", ByteLevelBpeTokenizer.LLAMA3_PATTERN);
    pres.addObject()
        .put("type", "ByteLevel")
        .put("add_prefix_space", false)
        .put("use_regex", false);
    ObjectNode post = root.putObject("post_processor");
    post.put("type", "TemplateProcessing");
    ArrayNode single = post.putArray("single");
    single.addObject().putObject("SpecialToken").put("id", "<|begin_of_text|>").put("type_id", 0);
    single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    root.putObject("decoder").put("type", "ByteLevel");
    Path file = dir.resolve("tokenizer.json");
    JSON.writeValue(file.toFile(), root);
    return file;
  }

  private Path writeConfig() throws Exception {
    ObjectNode config = JSON.createObjectNode();
    config.put("bos_token", "<|begin_of_text|>");
    config.putObject("eos_token").put("content", "<|end_of_text|>");
    Path file = dir.resolve("tokenizer_config.json");
    JSON.writeValue(file.toFile(), config);
    return file;
  }

  @Test
  void ggufAndTokenizerJsonAgree() throws Exception {
    Tokenizer fromGguf;
    try (GgufFile gguf = GgufFile.open(writeGguf())) {
      fromGguf = Tokenizers.fromGguf(gguf);
    }
    assertThat(fromGguf).isInstanceOf(ByteLevelBpeTokenizer.class);
    Path config = writeConfig();
    for (boolean pairs : new boolean[] {true, false}) {
      ByteLevelBpeTokenizer fromJson =
          ByteLevelBpeTokenizer.fromTokenizerJson(writeTokenizerJson(pairs, "BPE"), config);
      assertThat(fromJson.vocabSize()).isEqualTo(fromGguf.vocabSize());
      assertThat(fromJson.bosId()).isEqualTo(BpeTestVocab.BOS).isEqualTo(fromGguf.bosId());
      assertThat(fromJson.eosId()).isEqualTo(BpeTestVocab.EOS).isEqualTo(fromGguf.eosId());
      assertThat(fromJson.addBosByDefault()).isTrue().isEqualTo(fromGguf.addBosByDefault());
      for (String s : SAMPLES) {
        for (boolean special : new boolean[] {true, false}) {
          assertThat(fromJson.encode(s, true, special))
              .as("%s special=%s", s, special)
              .containsExactly(fromGguf.encode(s, true, special));
        }
      }
      assertThat(fromJson.encode("hello world", false, false))
          .containsExactly(BpeTestVocab.HELLO, BpeTestVocab.SPACE_WORLD);
      for (int id = 0; id < fromJson.vocabSize(); id++) {
        assertThat(fromJson.piece(id)).isEqualTo(fromGguf.piece(id));
        assertThat(fromJson.isSpecial(id)).isEqualTo(fromGguf.isSpecial(id));
        assertThat(fromJson.tokenBytes(id)).isEqualTo(fromGguf.tokenBytes(id));
      }
    }
  }

  @Test
  void withoutConfigThereIsNoBos() throws Exception {
    ByteLevelBpeTokenizer t =
        ByteLevelBpeTokenizer.fromTokenizerJson(writeTokenizerJson(false, "BPE"), null);
    assertThat(t.bosId()).isEqualTo(-1);
    assertThat(t.addBosByDefault()).isFalse();
    assertThat(t.encode("hello")).containsExactly(BpeTestVocab.HELLO);
  }

  @Test
  void otherModelTypesAreRejected() throws Exception {
    for (String type : List.of("WordPiece", "Unigram")) {
      Path file = writeTokenizerJson(false, type);
      assertThatThrownBy(() -> ByteLevelBpeTokenizer.fromTokenizerJson(file, null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(file.toString())
          .hasMessageContaining(type);
    }
  }

  @Test
  void unknownGgufPreNameFallsBackToGpt2() throws Exception {
    Path file = dir.resolve("odd.gguf");
    new GgufWriter()
        .putString("tokenizer.ggml.model", "gpt2")
        .putString("tokenizer.ggml.pre", "some-new-model")
        .putStringArray("tokenizer.ggml.tokens", BpeTestVocab.pieces())
        .putStringArray("tokenizer.ggml.merges", BpeTestVocab.MERGES)
        .addTensor("x", GgmlType.F32, new long[] {8}, () -> new float[8])
        .write(file);
    try (GgufFile gguf = GgufFile.open(file)) {
      ByteLevelBpeTokenizer t = ByteLevelBpeTokenizer.fromGguf(gguf);
      assertThat(t.preTokenizerPatterns()).containsExactly(ByteLevelBpeTokenizer.GPT2_PATTERN);
      assertThat(t.addBosByDefault()).isFalse();
      assertThat(t.bosId()).isEqualTo(-1);
      assertThat(t.encode("4512", false, false))
          .containsExactly(BpeTestVocab.D45, BpeTestVocab.D12);
      assertThat(Files.size(file)).isPositive();
    }
  }
}
