package dev.duet.engine.model;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.chat.ChatTemplateSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the chat template source of a Hugging Face directory: {@code chat_template} in {@code
 * tokenizer_config.json} (see {@link ChatTemplateSpec#fromTokenizerConfig}), else a {@code
 * chat_template.jinja} file beside it (newer {@code transformers} versions write that).
 */
final class HfChatTemplates {

  private HfChatTemplates() {}

  static Optional<String> fromTokenizerConfig(Path tokenizerConfig) {
    Path jinja = tokenizerConfig.resolveSibling("chat_template.jinja");
    try {
      if (Files.isRegularFile(tokenizerConfig)) {
        Optional<ChatTemplateSpec> spec =
            ChatTemplateSpec.fromTokenizerConfig(
                Files.readString(tokenizerConfig), tokenizerConfig.toString());
        if (spec.isPresent()) {
          return Optional.of(spec.get().source());
        }
      }
      return Files.isRegularFile(jinja) ? Optional.of(Files.readString(jinja)) : Optional.empty();
    } catch (IOException | IllegalArgumentException e) {
      throw new ModelFormatException(
          "cannot read the chat template from " + tokenizerConfig + ": " + e.getMessage(), e);
    }
  }
}
