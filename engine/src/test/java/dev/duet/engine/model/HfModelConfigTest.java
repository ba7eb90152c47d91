package dev.duet.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.ModelFormatException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class HfModelConfigTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path FILE = Path.of("/models/x/config.json");

  /** The shape of Llama 3.1 8B's published config.json. */
  private static ObjectNode llama31() {
    ObjectNode c = JSON.createObjectNode();
    c.put("model_type", "llama");
    c.putArray("architectures").add("LlamaForCausalLM");
    c.put("hidden_size", 4096);
    c.put("intermediate_size", 14336);
    c.put("num_hidden_layers", 32);
    c.put("num_attention_heads", 32);
    c.put("num_key_value_heads", 8);
    c.put("max_position_embeddings", 131072);
    c.put("rms_norm_eps", 1e-5);
    c.put("rope_theta", 500000.0);
    c.put("hidden_act", "silu");
    c.put("tie_word_embeddings", false);
    ObjectNode s = c.putObject("rope_scaling");
    s.put("rope_type", "llama3");
    s.put("factor", 8.0);
    s.put("low_freq_factor", 1.0);
    s.put("high_freq_factor", 4.0);
    s.put("original_max_position_embeddings", 8192);
    return c;
  }

  @Test
  void readsLlama31() {
    HfModelConfig hf = HfModelConfig.parse(llama31(), FILE, 128256);
    LlamaConfig c = hf.config();
    assertThat(c.architecture()).isEqualTo("llama");
    assertThat(c.dim()).isEqualTo(4096);
    assertThat(c.nKvHeads()).isEqualTo(8);
    assertThat(c.headDim()).isEqualTo(128);
    assertThat(c.hiddenDim()).isEqualTo(14336);
    assertThat(c.vocabSize()).isEqualTo(128256);
    assertThat(c.contextLength()).isEqualTo(131072);
    assertThat(c.rope().style()).isEqualTo(Rope.Style.SPLIT_HALVES);
    assertThat(hf.tiedEmbeddings()).isFalse();
  }

  @Test
  void llama3ScalingKeepsShortWavelengthsDividesLongOnesAndBlendsSixPairsBetween() {
    // Wavelength 2*pi*theta^(2i/128) is below 8192/4 up to pair 28 and above 8192/1 from pair 35.
    float[] f = HfModelConfig.parse(llama31(), FILE, 128256).config().rope().freqFactors();
    assertThat(f).hasSize(64);
    for (int i = 0; i <= 28; i++) {
      assertThat(f[i]).as("pair %d", i).isEqualTo(1f);
    }
    for (int i = 35; i < 64; i++) {
      assertThat(f[i]).as("pair %d", i).isEqualTo(8f);
    }
    for (int i = 29; i <= 34; i++) {
      assertThat(f[i]).as("pair %d", i).isGreaterThan(f[i - 1]).isLessThan(8f);
    }
  }

  @Test
  void absentKeysTakeTransformersDefaults() {
    ObjectNode c = JSON.createObjectNode();
    c.put("model_type", "llama");
    c.put("hidden_size", 64);
    c.put("intermediate_size", 160);
    c.put("num_hidden_layers", 2);
    c.put("num_attention_heads", 4);
    LlamaConfig cfg = HfModelConfig.parse(c, FILE, 320).config();
    assertThat(cfg.nKvHeads()).isEqualTo(4);
    assertThat(cfg.headDim()).isEqualTo(16);
    assertThat(cfg.rope().theta()).isEqualTo(10000f);
    assertThat(cfg.rope().freqFactors()).isNull();
    assertThat(cfg.rmsEps()).isEqualTo(1e-6f);
    assertThat(cfg.contextLength()).isEqualTo(2048);
  }

  @Test
  void linearScalingDividesPositions() {
    ObjectNode c = llama31();
    c.putObject("rope_scaling").put("type", "linear").put("factor", 4.0);
    assertThat(HfModelConfig.parse(c, FILE, 10).config().rope().linearFactor()).isEqualTo(4f);
  }

  @Test
  void mistralSlidingWindowBelowTheContextIsRefused() {
    ObjectNode c = llama31();
    c.put("model_type", "mistral");
    c.remove("rope_scaling");
    c.put("max_position_embeddings", 32768);
    c.put("sliding_window", 4096);
    assertThatThrownBy(() -> HfModelConfig.parse(c, FILE, 10))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining(FILE.toString())
        .hasMessageContaining("sliding_window is 4096");
    c.putNull("sliding_window");
    assertThat(HfModelConfig.parse(c, FILE, 10).config().architecture()).isEqualTo("mistral");
  }

  @Test
  void qwen2SlidingWindowCountsOnlyWhenSwitchedOn() {
    ObjectNode c = llama31();
    c.put("model_type", "qwen2");
    c.remove("rope_scaling");
    c.put("sliding_window", 4096);
    c.put("use_sliding_window", false);
    assertThat(HfModelConfig.parse(c, FILE, 10).config().architecture()).isEqualTo("qwen2");
    c.put("use_sliding_window", true);
    assertThatThrownBy(() -> HfModelConfig.parse(c, FILE, 10))
        .hasMessageContaining("sliding-window attention is not supported");
  }

  @Test
  void whatTheEngineCannotRunIsRefusedWithTheKey() {
    ObjectNode gemma = llama31();
    gemma.put("model_type", "gemma");
    assertThatThrownBy(() -> HfModelConfig.parse(gemma, FILE, 10))
        .hasMessageContaining("model_type 'gemma'")
        .hasMessageContaining("qwen2");
    ObjectNode gelu = llama31();
    gelu.put("hidden_act", "gelu");
    assertThatThrownBy(() -> HfModelConfig.parse(gelu, FILE, 10))
        .hasMessageContaining("hidden_act 'gelu'");
    ObjectNode yarn = llama31();
    yarn.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
    assertThatThrownBy(() -> HfModelConfig.parse(yarn, FILE, 10))
        .hasMessageContaining("rope_scaling type 'yarn'");
    ObjectNode biased = llama31();
    biased.put("attention_bias", true);
    assertThatThrownBy(() -> HfModelConfig.parse(biased, FILE, 10))
        .hasMessageContaining("attention_bias");
    ObjectNode noLayers = llama31();
    noLayers.remove("num_hidden_layers");
    assertThatThrownBy(() -> HfModelConfig.parse(noLayers, FILE, 10))
        .hasMessageContaining("'num_hidden_layers'");
  }
}
