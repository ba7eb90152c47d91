package dev.duet.engine.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Optional;

/**
 * A chat template as a model ships it: the Jinja source and the BOS/EOS token texts the template
 * refers to as {@code bos_token} and {@code eos_token} (empty when the model has none).
 *
 * <p>Immutable; safe to share between threads.
 */
public record ChatTemplateSpec(String source, String bosToken, String eosToken) {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** Name of the template {@link #fromTokenizerConfig} picks when several are given. */
  public static final String DEFAULT_NAME = "default";

  public ChatTemplateSpec {
    if (source == null || source.isBlank()) {
      throw new IllegalArgumentException("chat template source must be non-blank");
    }
    bosToken = bosToken == null ? "" : bosToken;
    eosToken = eosToken == null ? "" : eosToken;
  }

  public ChatTemplate compile() {
    return ChatTemplate.compile(source, bosToken, eosToken);
  }

  /**
   * Reads the chat template of a Hugging Face {@code tokenizer_config.json}; empty when it has no
   * {@code chat_template}. {@code chat_template} is a string, or a list of {@code {name, template}}
   * of which the one named {@code "default"} is taken. {@code bos_token} and {@code eos_token} are
   * strings, {@code {"content": ...}} objects, or null/absent. {@code origin} (a file name) is put
   * in error messages.
   *
   * @throws IllegalArgumentException naming {@code origin} and the key when the JSON or a value has
   *     the wrong shape
   */
  public static Optional<ChatTemplateSpec> fromTokenizerConfig(String json, String origin) {
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(origin + ": not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(origin + ": expected a JSON object");
    }
    JsonNode template = root.get("chat_template");
    if (template == null || template.isNull()) {
      return Optional.empty();
    }
    String source = templateSource(template, origin);
    return Optional.of(
        new ChatTemplateSpec(
            source,
            tokenText(root.get("bos_token"), origin, "bos_token"),
            tokenText(root.get("eos_token"), origin, "eos_token")));
  }

  private static String templateSource(JsonNode template, String origin) {
    if (template.isTextual()) {
      return template.asText();
    }
    if (!template.isArray()) {
      throw new IllegalArgumentException(
          origin + ": chat_template must be a string or a list of {name, template}");
    }
    StringBuilder names = new StringBuilder();
    for (JsonNode entry : template) {
      String name = entry.path("name").asText("");
      if (name.equals(DEFAULT_NAME)) {
        JsonNode source = entry.get("template");
        if (source == null || !source.isTextual()) {
          throw new IllegalArgumentException(
              origin + ": chat_template entry \"default\" has no template string");
        }
        return source.asText();
      }
      names.append(names.isEmpty() ? "" : ", ").append(name);
    }
    throw new IllegalArgumentException(
        origin + ": chat_template has no entry named \"default\" (found: " + names + ")");
  }

  private static String tokenText(JsonNode node, String origin, String key) {
    if (node == null || node.isNull()) {
      return "";
    }
    if (node.isTextual()) {
      return node.asText();
    }
    if (node.isObject() && node.path("content").isTextual()) {
      return node.get("content").asText();
    }
    throw new IllegalArgumentException(
        origin + ": " + key + " must be a string or an object with a string \"content\"");
  }
}
