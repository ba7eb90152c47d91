package dev.duet.engine.sampling;

/**
 * Why a request stopped generating. Immutable; safe to share between threads.
 *
 * <p>{@link #openAiFinishReason()} gives the {@code finish_reason} the OpenAI API reports. The
 * reasons OpenAI has no value for use the names vLLM reports ({@code "abort"}, {@code "error"}).
 */
public enum StopReason {
  /** The model produced its end-of-sequence token. */
  EOS("stop"),
  /** The generated text reached one of the request's stop strings. */
  STOP_STRING("stop"),
  /** The request's {@code max_tokens} were generated. */
  MAX_TOKENS("length"),
  /** The sequence filled the model's context window. */
  CONTEXT_LENGTH("length"),
  /** The client or the server cancelled the request. */
  CANCELLED("abort"),
  /** Generation failed. */
  ERROR("error");

  private final String openAiFinishReason;

  StopReason(String openAiFinishReason) {
    this.openAiFinishReason = openAiFinishReason;
  }

  /** The {@code finish_reason} string for OpenAI-compatible responses. */
  public String openAiFinishReason() {
    return openAiFinishReason;
  }
}
