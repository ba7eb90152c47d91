package dev.duet.controller.openai;

import dev.duet.engine.chat.ChatMessage;
import dev.duet.engine.sampling.SamplingParams;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * A validated {@code /v1/completions} or {@code /v1/chat/completions} request, in Duet's terms.
 * Exactly one of {@link #promptText}, {@link #promptIds} and {@link #messages} is set, by kind.
 *
 * @param kind which endpoint it came to
 * @param model the requested model name
 * @param promptText a completion prompt given as text, or null
 * @param promptIds a completion prompt given as token ids, or null
 * @param messages a chat conversation, or null
 * @param maxTokens {@code max_tokens} / {@code max_completion_tokens}; empty for "up to the
 *     context" (chat's default)
 * @param temperature sampling temperature (0 = greedy)
 * @param topP nucleus probability mass (1 = off)
 * @param topK top-k cut (0 = off; a vLLM extension)
 * @param seed RNG seed; empty when the client gave none (the server picks one)
 * @param stop stop strings
 * @param ignoreEos keep generating past EOS (a vLLM extension)
 * @param stream whether to answer with server-sent events
 * @param includeUsage with {@code stream}: send a last chunk with {@code usage}
 */
public record OpenAiRequest(
    Kind kind,
    String model,
    String promptText,
    int[] promptIds,
    List<ChatMessage> messages,
    OptionalInt maxTokens,
    float temperature,
    float topP,
    int topK,
    OptionalLong seed,
    List<String> stop,
    boolean ignoreEos,
    boolean stream,
    boolean includeUsage) {

  /** The endpoint a request came to. */
  public enum Kind {
    COMPLETION,
    CHAT
  }

  public OpenAiRequest {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(model, "model");
    stop = List.copyOf(stop);
    messages = messages == null ? null : List.copyOf(messages);
    promptIds = promptIds == null ? null : promptIds.clone();
    int given =
        (promptText != null ? 1 : 0) + (promptIds != null ? 1 : 0) + (messages != null ? 1 : 0);
    if (given != 1) {
      throw new IllegalArgumentException("exactly one of prompt text, prompt ids, messages");
    }
    if ((kind == Kind.CHAT) != (messages != null)) {
      throw new IllegalArgumentException("chat requests carry messages, completions a prompt");
    }
  }

  @Override
  public int[] promptIds() {
    return promptIds == null ? null : promptIds.clone();
  }

  /**
   * The engine's sampling parameters for a prompt of {@code promptTokens} tokens on a model with
   * {@code contextLength} positions; {@code defaultSeed} when the client gave none.
   *
   * @throws ApiException 422 when the prompt leaves no room to generate, 400 when {@code
   *     max_tokens} asks for more than the context leaves
   */
  public SamplingParams samplingParams(int promptTokens, int contextLength, long defaultSeed) {
    int room = contextLength - promptTokens;
    if (room < 1) {
      throw new ApiException(
          ApiError.unprocessable(
              kind == Kind.CHAT ? "messages" : "prompt",
              "the prompt has "
                  + promptTokens
                  + " tokens; the model's context is "
                  + contextLength
                  + " tokens, which leaves no room for a completion"));
    }
    int max = maxTokens.orElse(room);
    if (max > room) {
      throw new ApiException(
          ApiError.invalid(
              "max_tokens",
              "max_tokens is "
                  + max
                  + " but the model's context is "
                  + contextLength
                  + " tokens and the prompt takes "
                  + promptTokens
                  + ", leaving "
                  + room));
    }
    return new SamplingParams(
        temperature, topK, topP, seed.orElse(defaultSeed), max, stop, ignoreEos);
  }
}
