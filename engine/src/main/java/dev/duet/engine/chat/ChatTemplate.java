package dev.duet.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A compiled Jinja chat template (Hugging Face's {@code chat_template}, GGUF's {@code
 * tokenizer.chat_template}) that turns a conversation into the prompt text a model was trained on.
 *
 * <p>Rendering follows {@code transformers}' {@code apply_chat_template}: the template sees {@code
 * messages} (a list of {@code {role, content}}), {@code add_generation_prompt}, {@code bos_token}
 * and {@code eos_token}, plus the functions {@code raise_exception(msg)} and {@code
 * strftime_now(fmt)}; blocks are rendered with {@code trim_blocks} and {@code lstrip_blocks} on,
 * and filters bind tighter than {@code +}, as in Python Jinja. Undefined names are falsy and render
 * as nothing. The template is parsed once, at {@link #compile}; syntax errors surface there.
 *
 * <p>Threading: immutable once compiled; {@link #render} may be called from many threads at once
 * (each call gets its own interpreter).
 */
public final class ChatTemplate {

  private static final JinjavaConfig CONFIG =
      JinjavaConfig.newBuilder()
          .withTrimBlocks(true)
          // lstrip_blocks is done by lstripBlocks() below: Jinjava's also strips spaces before a
          // tag in mid-line, which Python Jinja keeps.
          .withLstripBlocks(false)
          .withLocale(Locale.ROOT)
          .withLegacyOverrides(
              LegacyOverrides.newBuilder()
                  // Jinjava's "natural" precedence reads `not x is defined` as `(not x) is
                  // defined`; the legacy one gets it right.
                  .withUseNaturalOperatorPrecedence(false)
                  .withParseWhitespaceControlStrictly(true)
                  .withUseTrimmingForNotesAndExpressions(true)
                  .withEvaluateMapKeys(true)
                  .withKeepNullableLoopValues(true)
                  .build())
          .build();

  private final String source;
  private final String bosToken;
  private final String eosToken;
  private final Clock clock;
  private final Jinjava jinjava;
  private final Node root;

  private ChatTemplate(String source, String bosToken, String eosToken, Clock clock) {
    this.source = source;
    this.bosToken = bosToken;
    this.eosToken = eosToken;
    this.clock = clock;
    this.jinjava = newJinjava();
    JinjavaInterpreter interpreter = jinjava.newInterpreter();
    JinjavaInterpreter.pushCurrent(interpreter);
    try {
      this.root = interpreter.parse(lstripBlocks(source));
    } finally {
      JinjavaInterpreter.popCurrent();
    }
    failOnErrors(interpreter.getErrors(), "compiling");
  }

  /**
   * Compiles a template with the model's BOS and EOS token texts (empty when it has none), using
   * the system clock for {@code strftime_now}.
   *
   * @throws ChatTemplateException when the template does not parse
   */
  public static ChatTemplate compile(String source, String bosToken, String eosToken) {
    return compile(source, bosToken, eosToken, Clock.systemDefaultZone());
  }

  /** As {@link #compile(String, String, String)}, with the clock {@code strftime_now} reads. */
  public static ChatTemplate compile(String source, String bosToken, String eosToken, Clock clock) {
    if (source == null || source.isBlank()) {
      throw new ChatTemplateException("chat template source is empty");
    }
    return new ChatTemplate(
        source, bosToken == null ? "" : bosToken, eosToken == null ? "" : eosToken, clock);
  }

  /**
   * Renders a conversation. With {@code addGenerationPrompt} the text ends with the header that
   * opens the assistant's reply (for templates that have one), ready for generation.
   *
   * @throws ChatTemplateException when the template raises an exception (e.g. roles that do not
   *     alternate) or fails while rendering
   */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    if (messages.isEmpty()) {
      throw new IllegalArgumentException("a chat needs at least one message");
    }
    Map<String, Object> bindings = new HashMap<>();
    bindings.put("messages", asMaps(messages));
    bindings.put("add_generation_prompt", addGenerationPrompt);
    bindings.put("bos_token", bosToken);
    bindings.put("eos_token", eosToken);
    bindings.put(JinjaFunctions.CLOCK_KEY, clock);
    // Python Jinja's globals are defined names: templates test `strftime_now is defined`.
    bindings.put("strftime_now", true);
    bindings.put("raise_exception", true);
    Context context = new Context(jinjava.getGlobalContext(), bindings, CONFIG.getDisabled());
    JinjavaInterpreter interpreter = new JinjavaInterpreter(jinjava, context, CONFIG);
    String out;
    JinjavaInterpreter.pushCurrent(interpreter);
    try {
      out = interpreter.render(root, false);
    } catch (JinjaFunctions.TemplateRaised e) {
      throw raised(e);
    } catch (RuntimeException e) {
      throw new ChatTemplateException("chat template failed while rendering: " + e.getMessage(), e);
    } finally {
      JinjavaInterpreter.popCurrent();
    }
    failOnErrors(interpreter.getErrors(), "rendering");
    return out;
  }

  public String source() {
    return source;
  }

  public String bosToken() {
    return bosToken;
  }

  public String eosToken() {
    return eosToken;
  }

  /**
   * Python Jinja's {@code lstrip_blocks}: spaces and tabs between the start of a line and a block
   * or comment tag are dropped ({@code {%+} opts out).
   */
  static String lstripBlocks(String source) {
    return LSTRIP.matcher(source).replaceAll("");
  }

  private static final Pattern LSTRIP = Pattern.compile("(?m)^[ \\t]+(?=\\{%(?!\\+)|\\{#)");

  private static List<Map<String, Object>> asMaps(List<ChatMessage> messages) {
    List<Map<String, Object>> out = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("role", m.role());
      map.put("content", m.content());
      out.add(map);
    }
    return out;
  }

  private static Jinjava newJinjava() {
    Jinjava j = new Jinjava(CONFIG);
    j.getGlobalContext()
        .registerFunction(
            new ELFunctionDefinition(
                "", "raise_exception", JinjaFunctions.class, "raiseException", Object.class));
    j.getGlobalContext()
        .registerFunction(
            new ELFunctionDefinition(
                "", "strftime_now", JinjaFunctions.class, "strftimeNow", String.class));
    return j;
  }

  private static void failOnErrors(List<TemplateError> errors, String phase) {
    for (TemplateError e : errors) {
      Throwable raised = find(e.getException());
      if (raised != null) {
        throw raised((JinjaFunctions.TemplateRaised) raised);
      }
    }
    List<String> fatal = new ArrayList<>();
    for (TemplateError e : errors) {
      if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
        fatal.add(describe(e));
      }
    }
    if (!fatal.isEmpty()) {
      throw new ChatTemplateException(
          "chat template failed while " + phase + ": " + String.join("; ", fatal));
    }
  }

  private static Throwable find(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof JinjaFunctions.TemplateRaised) {
        return c;
      }
    }
    return null;
  }

  private static ChatTemplateException raised(JinjaFunctions.TemplateRaised e) {
    return new ChatTemplateException("chat template raised an exception: " + e.getMessage(), e);
  }

  private static String describe(TemplateError e) {
    String where = e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : "";
    return e.getMessage() + where;
  }
}
