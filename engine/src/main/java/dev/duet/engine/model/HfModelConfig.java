package dev.duet.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.engine.ModelFormatException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads a Hugging Face {@code config.json} (the {@code transformers} configuration of {@code
 * LlamaForCausalLM}, {@code MistralForCausalLM} or {@code Qwen2ForCausalLM}) into a {@link
 * LlamaConfig}.
 *
 * <p>Defaults are {@code transformers}' own where a key is absent. What Duet cannot run is refused
 * with the key and its value: another activation than SiLU, MLP biases, a Llama output-projection
 * bias ({@code attention_bias}), a sliding window shorter than the context, and RoPE scaling other
 * than linear and Llama 3's.
 *
 * @param config the model configuration
 * @param tiedEmbeddings whether the output head reuses the token embedding ({@code
 *     tie_word_embeddings})
 */
public record HfModelConfig(LlamaConfig config, boolean tiedEmbeddings) {

  /** {@code model_type} → the architecture name Duet uses (GGUF's). */
  private static final Map<String, String> MODEL_TYPES =
      Map.of("llama", "llama", "mistral", "mistral", "qwen2", "qwen2");

  /**
   * Parses {@code json} (read from {@code file}); the vocabulary size is the token embedding's row
   * count, {@code vocabRows}, which is what the weights hold whatever {@code vocab_size} says.
   */
  public static HfModelConfig parse(JsonNode json, Path file, int vocabRows) {
    String modelType = json.path("model_type").asText("");
    String arch = MODEL_TYPES.get(modelType);
    if (arch == null) {
      throw new ModelFormatException(
          file
              + ": model_type '"
              + modelType
              + "' (architectures "
              + json.path("architectures")
              + ") is not supported; supported: "
              + MODEL_TYPES.keySet().stream().sorted().toList());
    }
    String act = json.path("hidden_act").asText("silu");
    if (!act.equals("silu")) {
      throw new ModelFormatException(file + ": hidden_act '" + act + "' is not supported (silu)");
    }
    if (json.path("mlp_bias").asBoolean(false)) {
      throw new ModelFormatException(file + ": mlp_bias true is not supported");
    }
    if (!arch.equals("qwen2") && json.path("attention_bias").asBoolean(false)) {
      throw new ModelFormatException(
          file
              + ": attention_bias true (biases on all four attention projections) is not supported");
    }
    int dim = required(json, file, "hidden_size");
    int heads = required(json, file, "num_attention_heads");
    int kvHeads = optionalInt(json, "num_key_value_heads", heads);
    int headDim = optionalInt(json, "head_dim", dim / heads);
    int context = optionalInt(json, "max_position_embeddings", 2048);
    checkSlidingWindow(json, file, arch, context);
    float theta = (float) json.path("rope_theta").asDouble(10000.0);
    Rope rope = rope(json.path("rope_scaling"), file, headDim, theta);
    LlamaConfig config =
        new LlamaConfig(
            arch,
            dim,
            required(json, file, "num_hidden_layers"),
            heads,
            kvHeads,
            headDim,
            required(json, file, "intermediate_size"),
            vocabRows,
            context,
            (float) json.path("rms_norm_eps").asDouble(1e-6),
            rope);
    return new HfModelConfig(config, json.path("tie_word_embeddings").asBoolean(false));
  }

  private static void checkSlidingWindow(JsonNode json, Path file, String arch, int context) {
    JsonNode window = json.path("sliding_window");
    // Qwen2 carries a sliding_window value but applies it only with use_sliding_window.
    boolean used =
        arch.equals("qwen2") ? json.path("use_sliding_window").asBoolean(false) : window.isInt();
    if (used && window.isInt() && window.asInt() < context) {
      throw new ModelFormatException(
          file
              + ": sliding_window is "
              + window.asInt()
              + " (below max_position_embeddings "
              + context
              + "); sliding-window attention is not supported yet");
    }
  }

  private static Rope rope(JsonNode scaling, Path file, int headDim, float theta) {
    if (scaling.isMissingNode() || scaling.isNull()) {
      return new Rope(Rope.Style.SPLIT_HALVES, headDim, theta, 1f, null);
    }
    String type = scaling.path("rope_type").asText(scaling.path("type").asText("default"));
    double factor = scaling.path("factor").asDouble(1.0);
    return switch (type) {
      case "default" -> new Rope(Rope.Style.SPLIT_HALVES, headDim, theta, 1f, null);
      case "linear" -> new Rope(Rope.Style.SPLIT_HALVES, headDim, theta, (float) factor, null);
      case "llama3" ->
          new Rope(
              Rope.Style.SPLIT_HALVES,
              headDim,
              theta,
              1f,
              Rope.llama3FreqFactors(
                  headDim,
                  theta,
                  factor,
                  scaling.path("low_freq_factor").asDouble(1.0),
                  scaling.path("high_freq_factor").asDouble(4.0),
                  scaling.path("original_max_position_embeddings").asDouble(8192)));
      default ->
          throw new ModelFormatException(
              file
                  + ": rope_scaling type '"
                  + type
                  + "' is not supported (supported: linear, llama3)");
    };
  }

  private static int required(JsonNode json, Path file, String key) {
    JsonNode v = json.get(key);
    if (v == null || !v.canConvertToInt()) {
      throw new ModelFormatException(file + ": missing or non-integer '" + key + "'");
    }
    return v.asInt();
  }

  private static int optionalInt(JsonNode json, String key, int fallback) {
    JsonNode v = json.get(key);
    return v == null || v.isNull() ? fallback : v.asInt();
  }
}
