package dev.duet.engine.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFilesTest {
  static final String C = "0123456789abcdef0123456789abcdef01234567";
  static final HfSpec SPEC = HfSpec.parse("hf:org/repo");

  static RepoListing listing(String... paths) {
    return new RepoListing(
        C, Arrays.stream(paths).map(p -> new RepoFile(p, 10, Optional.empty())).toList());
  }

  static java.util.List<String> selected(String... paths) throws HubException {
    return ModelFiles.select(SPEC, listing(paths)).stream().map(RepoFile::path).toList();
  }

  @Test
  void configTokenizerAndSafetensorsAreTakenAndOtherFormatsAreNot() throws Exception {
    assertThat(
            selected(
                "config.json",
                "generation_config.json",
                "tokenizer.json",
                "tokenizer_config.json",
                "special_tokens_map.json",
                "model.safetensors",
                "pytorch_model.bin",
                "tf_model.h5",
                "flax_model.msgpack",
                "onnx/model.onnx",
                "model.Q4_0.gguf",
                "README.md",
                ".gitattributes"))
        .containsExactlyInAnyOrder(
            "config.json",
            "generation_config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "model.safetensors");
  }

  @Test
  void anIndexIsTakenInsteadOfEverySafetensorsFile() throws Exception {
    assertThat(
            selected(
                "config.json",
                "model.safetensors.index.json",
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors",
                "consolidated.safetensors"))
        .containsExactlyInAnyOrder("config.json", "model.safetensors.index.json");
  }

  @Test
  void withoutIndexOrModelSafetensorsEveryTopLevelSafetensorsIsTaken() throws Exception {
    assertThat(selected("config.json", "a.safetensors", "b.safetensors", "sub/c.safetensors"))
        .containsExactlyInAnyOrder("config.json", "a.safetensors", "b.safetensors");
  }

  @Test
  void aGgufOnlyRepositoryListsItsGgufFilesAndSuggestsASpec() {
    assertThatThrownBy(() -> selected("README.md", "m.Q8_0.gguf", "m.Q4_0.gguf"))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("only GGUF files")
        .hasMessageContaining("--model hf:org/repo/m.Q4_0.gguf")
        .hasMessageContaining("m.Q4_0.gguf, m.Q8_0.gguf");
  }

  @Test
  void aRepositoryWithoutWeightsOrConfigIsRejected() {
    assertThatThrownBy(() -> selected("config.json", "pytorch_model.bin"))
        .hasMessageContaining("neither safetensors nor GGUF")
        .hasMessageContaining("pytorch_model.bin");
    assertThatThrownBy(() -> selected("model.safetensors")).hasMessageContaining("no config.json");
  }

  @Test
  void shardsComeFromTheIndexWeightMapOnceEach(@TempDir Path dir) throws Exception {
    Path index = dir.resolve("model.safetensors.index.json");
    Files.writeString(
        index,
        "{\"metadata\":{},\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\","
            + "\"c\":\"s1.safetensors\"}}");
    assertThat(ModelFiles.shardsOf(index)).containsExactly("s1.safetensors", "s2.safetensors");

    Files.writeString(index, "{\"weight_map\":{\"a\":\"../../etc/passwd\"}}");
    assertThatThrownBy(() -> ModelFiles.shardsOf(index)).hasMessageContaining("bad shard file");
  }

  @Test
  void aSnapshotIsCompleteWhenConfigAndEveryIndexedShardArePresent(@TempDir Path dir)
      throws Exception {
    assertThat(ModelFiles.incompleteReason(dir)).contains("config.json is missing");
    Files.writeString(dir.resolve("config.json"), "{}");
    assertThat(ModelFiles.incompleteReason(dir)).contains("no .safetensors file");
    Files.writeString(
        dir.resolve("model.safetensors.index.json"),
        "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}");
    Files.writeString(dir.resolve("s1.safetensors"), "x");
    assertThat(ModelFiles.incompleteReason(dir)).contains("shard s2.safetensors is missing");
    Files.writeString(dir.resolve("s2.safetensors"), "x");
    assertThat(ModelFiles.incompleteReason(dir)).isEmpty();
  }
}
