package dev.duet.engine.chat;

import dev.duet.engine.tokenizer.Tokenizer;

/**
 * Turns a rendered chat prompt into token ids. Special-token texts in the prompt ({@code
 * <|im_start|>}, {@code <|eot_id|>}, ...) become their tokens, since templates write them as text;
 * and BOS is added only when the model asks for it and the template did not already write it, so a
 * prompt never starts with two BOS tokens.
 *
 * <p>Threading: stateless.
 */
public final class ChatPromptEncoder {

  private ChatPromptEncoder() {}

  /** Encodes a prompt rendered by a {@link ChatTemplate}, special tokens parsed. */
  public static int[] encode(Tokenizer tokenizer, String renderedPrompt) {
    return tokenizer.encode(renderedPrompt, addBos(tokenizer, renderedPrompt), true);
  }

  /**
   * Whether to add BOS in front of a rendered prompt: when the model adds BOS by default, has one,
   * and the text does not already start with the BOS token's text.
   */
  public static boolean addBos(Tokenizer tokenizer, String renderedPrompt) {
    if (!tokenizer.addBosByDefault() || tokenizer.bosId() < 0) {
      return false;
    }
    String bos = tokenizer.piece(tokenizer.bosId());
    return bos.isEmpty() || !renderedPrompt.startsWith(bos);
  }
}
