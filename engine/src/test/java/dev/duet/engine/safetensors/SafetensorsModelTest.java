package dev.duet.engine.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlCodec;
import dev.duet.engine.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hugging Face model directories, single-file and sharded, open through {@link SafetensorsModel}.
 */
class SafetensorsModelTest {
  private static final String CONFIG = "{\"model_type\": \"llama\", \"hidden_size\": 8}";

  @TempDir Path dir;

  private static float[] ramp(int n, float start) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = start + i;
    }
    return out;
  }

  private static float[] read(MemorySegment data, GgmlType type, int n) {
    float[] out = new float[n];
    GgmlCodec.decode(type, data, 0, out, 0, n);
    return out;
  }

  /** Six 64-byte F32 tensors; with a 128-byte shard limit they fill exactly three shards. */
  private static SafetensorsWriter sixTensors() {
    SafetensorsWriter w = new SafetensorsWriter().putMetadata("format", "pt");
    for (int i = 0; i < 6; i++) {
      float start = 100 * i;
      w.addTensor(
          "layers." + i + ".weight", GgmlType.F32, new long[] {4, 4}, () -> ramp(16, start));
    }
    return w;
  }

  @Test
  void aShardedDirectoryWithThreeShardsResolvesEveryTensor() throws Exception {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    List<Path> written = sixTensors().writeSharded(dir, 128);
    assertThat(written)
        .extracting(p -> p.getFileName().toString())
        .containsExactly(
            "model-00001-of-00003.safetensors",
            "model-00002-of-00003.safetensors",
            "model-00003-of-00003.safetensors",
            "model.safetensors.index.json");
    JsonNode index =
        new ObjectMapper().readTree(dir.resolve("model.safetensors.index.json").toFile());
    assertThat(index.at("/metadata/total_size").asLong()).isEqualTo(6 * 64);
    assertThat(index.at("/weight_map/layers.5.weight").asText())
        .isEqualTo("model-00003-of-00003.safetensors");

    SafetensorsFile firstShard;
    try (SafetensorsModel m = SafetensorsModel.open(dir)) {
      assertThat(m.config().get("model_type").asText()).isEqualTo("llama");
      assertThat(m.config().get("hidden_size").asInt()).isEqualTo(8);
      assertThat(m.shards()).hasSize(3);
      assertThat(m.tensors()).hasSize(6);
      for (int i = 0; i < 6; i++) {
        String name = "layers." + i + ".weight";
        assertThat(m.find(name)).isPresent();
        assertThat(m.tensor(name).shape()).containsExactly(4, 4);
        assertThat(m.ggmlType(name)).isEqualTo(GgmlType.F32);
        assertThat(m.shard(name).path().getFileName().toString())
            .isEqualTo("model-0000" + (i / 2 + 1) + "-of-00003.safetensors");
        assertThat(m.shard(name).metadata()).containsEntry("format", "pt");
        assertThat(read(m.data(name), GgmlType.F32, 16)).containsExactly(ramp(16, 100 * i));
      }
      assertThat(m.find("nope")).isEmpty();
      assertThatThrownBy(() -> m.tensor("nope"))
          .isInstanceOf(ModelFormatException.class)
          .hasMessageContaining(dir.toString())
          .hasMessageContaining("nope");
      firstShard = m.shards().get(0);
    }
    assertThatThrownBy(
            () ->
                firstShard.data("layers.0.weight").get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aSingleFileDirectoryOpensWhenEverythingFitsOneShard() throws Exception {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    List<Path> written =
        new SafetensorsWriter()
            .addTensor("embed", GgmlType.BF16, new long[] {2, 3}, () -> ramp(6, 1))
            .writeSharded(dir, 1 << 20);
    assertThat(written).containsExactly(dir.resolve("model.safetensors"));
    try (SafetensorsModel m = SafetensorsModel.open(dir)) {
      assertThat(m.shards()).hasSize(1);
      assertThat(m.ggmlType("embed")).isEqualTo(GgmlType.BF16);
      assertThat(read(m.data("embed"), GgmlType.BF16, 6)).containsExactly(ramp(6, 1));
    }
  }

  @Test
  void aMissingConfigIsAClearError() throws Exception {
    sixTensors().writeSharded(dir, 1 << 20);
    assertThatThrownBy(() -> SafetensorsModel.open(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining(dir.resolve("config.json").toString())
        .hasMessageContaining("missing model config");
  }

  @Test
  void aDirectoryWithoutWeightsIsAClearError() throws Exception {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    assertThatThrownBy(() -> SafetensorsModel.open(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining(dir.toString())
        .hasMessageContaining("model.safetensors.index.json");
  }

  @Test
  void anIndexNamingAMissingTensorOrShardIsRejected() throws Exception {
    Files.writeString(dir.resolve("config.json"), CONFIG);
    sixTensors().writeSharded(dir, 128);
    Path index = dir.resolve("model.safetensors.index.json");
    String good = Files.readString(index);
    Files.writeString(index, good.replace("\"layers.5.weight\"", "\"layers.9.weight\""));
    assertThatThrownBy(() -> SafetensorsModel.open(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining(index.toString())
        .hasMessageContaining("layers.9.weight is not in its shard");
    Files.writeString(index, good.replace("model-00002-of-00003", "model-00007-of-00003"));
    assertThatThrownBy(() -> SafetensorsModel.open(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("does not exist");
    Files.writeString(index, good.replace("model-00002-of-00003", "../escape"));
    assertThatThrownBy(() -> SafetensorsModel.open(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("outside");
  }
}
