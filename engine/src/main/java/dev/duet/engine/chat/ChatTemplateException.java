package dev.duet.engine.chat;

/**
 * A chat template that cannot be compiled or rendered: a syntax error, an unsupported construct, or
 * the template itself refusing the conversation through {@code raise_exception(...)} (for example
 * "Conversation roles must alternate user/assistant/user/assistant/..."). The message says which,
 * with the template's own words and, where known, the line.
 */
public class ChatTemplateException extends RuntimeException {
  public ChatTemplateException(String message) {
    super(message);
  }

  public ChatTemplateException(String message, Throwable cause) {
    super(message, cause);
  }
}
