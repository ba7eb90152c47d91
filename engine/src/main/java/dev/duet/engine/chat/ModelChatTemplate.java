package dev.duet.engine.chat;

import dev.duet.engine.model.Model;
import dev.duet.engine.tokenizer.Tokenizer;

/**
 * The chat template to use for a loaded model: the one it ships ({@link
 * Model#chatTemplateSource()}), with its BOS/EOS token texts, or else {@link #FALLBACK}.
 *
 * <p>The fallback is a plain-text transcript ({@code "User: ...\nAssistant:"}), not ChatML: models
 * without a template are mostly base models that were never taught any chat markup, and a
 * transcript in words is what such a model can continue sensibly; ChatML's {@code <|im_start|>}
 * would just be odd characters to it (and may not even be in a small vocabulary). The fallback adds
 * no BOS text, so the tokenizer adds BOS as it would for any prompt.
 *
 * @param template the compiled template
 * @param fallback whether the model had none and {@link #FALLBACK} is used
 */
public record ModelChatTemplate(ChatTemplate template, boolean fallback) {

  /**
   * The documented fallback: each message as {@code Role: content} on its own line (roles {@code
   * system}, {@code user}, {@code assistant} become {@code System}, {@code User}, {@code
   * Assistant}; others are written as given), content trimmed, then {@code Assistant:} when a reply
   * is wanted. For example {@code "System: Be brief.\nUser: Hi\nAssistant:"}.
   */
  public static final String FALLBACK =
      """
      {%- set labels = {'system': 'System', 'user': 'User', 'assistant': 'Assistant'} -%}
      {%- for message in messages -%}
      {{ labels[message['role']] if message['role'] in labels else message['role'] }}: \
      {{ message['content'] | trim }}
      {% endfor -%}
      {%- if add_generation_prompt %}Assistant:{% endif %}""";

  public ModelChatTemplate {
    if (template == null) {
      throw new IllegalArgumentException("template must not be null");
    }
  }

  /**
   * The model's own template, or the fallback when it ships none.
   *
   * @throws ChatTemplateException when the model's template does not compile
   */
  public static ModelChatTemplate forModel(Model model) {
    Tokenizer tok = model.tokenizer();
    String bos = tok.bosId() >= 0 ? tok.piece(tok.bosId()) : "";
    String eos = tok.eosId() >= 0 ? tok.piece(tok.eosId()) : "";
    return model
        .chatTemplateSource()
        .filter(s -> !s.isBlank())
        .map(s -> new ModelChatTemplate(compile(s, bos, eos, model), false))
        .orElseGet(() -> new ModelChatTemplate(ChatTemplate.compile(FALLBACK, bos, eos), true));
  }

  private static ChatTemplate compile(String source, String bos, String eos, Model model) {
    try {
      return ChatTemplate.compile(source, bos, eos);
    } catch (ChatTemplateException e) {
      throw new ChatTemplateException(
          model.source() + ": tokenizer.chat_template: " + e.getMessage(), e);
    }
  }
}
