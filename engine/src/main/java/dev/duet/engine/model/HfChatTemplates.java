package dev.duet.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the chat template of a Hugging Face directory: {@code chat_template} in {@code
 * tokenizer_config.json}, a string or a list of {@code {name, template}} (the one named {@code
 * default}), else a {@code chat_template.jinja} file beside it (newer {@code transformers} write
 * that).
 */
final class HfChatTemplates {

  private static final ObjectMapper JSON = new ObjectMapper();

  private HfChatTemplates() {}

  static Optional<String> fromTokenizerConfig(Path tokenizerConfig) {
    Path jinja = tokenizerConfig.resolveSibling("chat_template.jinja");
    try {
      if (Files.isRegularFile(tokenizerConfig)) {
        JsonNode t = JSON.readTree(tokenizerConfig.toFile()).path("chat_template");
        if (t.isTextual()) {
          return Optional.of(t.asText());
        }
        for (JsonNode named : t) {
          if (named.path("name").asText("").equals("default")) {
            return Optional.of(named.path("template").asText());
          }
        }
      }
      if (Files.isRegularFile(jinja)) {
        return Optional.of(Files.readString(jinja));
      }
      return Optional.empty();
    } catch (IOException e) {
      throw new ModelFormatException(
          "cannot read the chat template from " + tokenizerConfig + ": " + e.getMessage(), e);
    }
  }
}
