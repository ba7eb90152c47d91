package dev.duet.controller.gateway;

import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.ApiException;
import dev.duet.controller.openai.OpenAiRequest;
import dev.duet.engine.chat.ChatPromptEncoder;
import dev.duet.engine.chat.ChatTemplateException;
import dev.duet.engine.chat.ModelChatTemplate;
import dev.duet.engine.model.Model;
import dev.duet.engine.tokenizer.Tokenizer;
import java.util.Objects;

/**
 * The model the controller serves, as far as the gateway needs it: its name, tokenizer, chat
 * template and context length. The controller tokenizes, so it can size a request's KV before
 * routing it. Immutable; thread-safe (the tokenizer and template are).
 *
 * @param name the id clients put in {@code model}
 * @param tokenizer the model's tokenizer
 * @param chat the model's chat template (or the documented fallback)
 * @param contextLength positions the model supports
 */
public record ServedModel(
    String name, Tokenizer tokenizer, ModelChatTemplate chat, int contextLength) {

  public ServedModel {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(tokenizer, "tokenizer");
    Objects.requireNonNull(chat, "chat");
  }

  /** From a loaded model (its weights are mapped, never read here). */
  public static ServedModel of(String name, Model model) {
    return new ServedModel(
        name, model.tokenizer(), ModelChatTemplate.forModel(model), model.config().contextLength());
  }

  /** The prompt's token ids: given ids, encoded text, or the rendered conversation. */
  public int[] promptIds(OpenAiRequest r) {
    if (r.promptIds() != null) {
      int[] ids = r.promptIds();
      for (int i = 0; i < ids.length; i++) {
        if (ids[i] >= tokenizer.vocabSize()) {
          throw new ApiException(
              ApiError.invalid(
                  "prompt",
                  "prompt[" + i + "] = " + ids[i] + " is outside the vocabulary of " + name));
        }
      }
      return ids;
    }
    if (r.promptText() != null) {
      int[] ids = tokenizer.encode(r.promptText());
      if (ids.length == 0) {
        throw new ApiException(ApiError.invalid("prompt", "the prompt is empty"));
      }
      return ids;
    }
    try {
      String rendered = chat.template().render(r.messages(), true);
      return ChatPromptEncoder.encode(tokenizer, rendered);
    } catch (ChatTemplateException e) {
      throw new ApiException(ApiError.invalid("messages", e.getMessage()));
    }
  }
}
