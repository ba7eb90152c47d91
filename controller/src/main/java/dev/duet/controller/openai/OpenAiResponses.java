package dev.duet.controller.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.openai.OpenAiRequest.Kind;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Builds OpenAI response bodies: the whole {@code text_completion} / {@code chat.completion}
 * object, and the chunks of a stream ({@code data: {...}} server-sent events ending in {@code data:
 * [DONE]}). {@code created} comes from the injected clock.
 *
 * <p>Thread-safe when the clock and random generator are.
 */
public final class OpenAiResponses {

  /** The event that ends every stream. */
  public static final String DONE = "data: [DONE]\n\n";

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Token counts of a finished request.
   *
   * @param promptTokens tokens in the prompt (after the chat template)
   * @param completionTokens tokens generated
   */
  public record Usage(int promptTokens, int completionTokens) {
    ObjectNode toJson() {
      ObjectNode u = JSON.createObjectNode();
      u.put("prompt_tokens", promptTokens);
      u.put("completion_tokens", completionTokens);
      u.put("total_tokens", promptTokens + completionTokens);
      return u;
    }
  }

  private final Clock clock;
  private final RandomGenerator random;

  public OpenAiResponses(Clock clock, RandomGenerator random) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
  }

  /** A fresh response id: {@code cmpl-...} or {@code chatcmpl-...} and 24 hex digits. */
  public String newId(Kind kind) {
    byte[] b = new byte[12];
    random.nextBytes(b);
    return (kind == Kind.CHAT ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(b);
  }

  /** The non-streaming answer. */
  public ObjectNode complete(
      Kind kind, String id, String model, String text, String finishReason, Usage usage) {
    ObjectNode root = header(kind == Kind.CHAT ? "chat.completion" : "text_completion", id, model);
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    if (kind == Kind.CHAT) {
      ObjectNode message = choice.putObject("message");
      message.put("role", "assistant");
      message.put("content", text);
    } else {
      choice.put("text", text);
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
    root.set("usage", usage.toJson());
    return root;
  }

  /**
   * One streamed chunk: {@code text} (may be empty) and, on the last, the finish reason (else
   * null). A chat stream's first chunk carries {@code role} ({@code first}).
   */
  public ObjectNode chunk(
      Kind kind, String id, String model, boolean first, String text, String finishReason) {
    ObjectNode root =
        header(kind == Kind.CHAT ? "chat.completion.chunk" : "text_completion", id, model);
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    if (kind == Kind.CHAT) {
      ObjectNode delta = choice.putObject("delta");
      if (first) {
        delta.put("role", "assistant");
      }
      if (text != null && (!text.isEmpty() || first)) {
        delta.put("content", text);
      }
    } else {
      choice.put("text", text == null ? "" : text);
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
    return root;
  }

  /** The usage chunk a stream sends last when {@code stream_options.include_usage} is set. */
  public ObjectNode usageChunk(Kind kind, String id, String model, Usage usage) {
    ObjectNode root =
        header(kind == Kind.CHAT ? "chat.completion.chunk" : "text_completion", id, model);
    root.putArray("choices");
    root.set("usage", usage.toJson());
    return root;
  }

  /** {@code data: <json>} and the blank line that ends a server-sent event. */
  public static String sse(JsonNode event) {
    return "data: " + event.toString() + "\n\n";
  }

  private ObjectNode header(String object, String id, String model) {
    ObjectNode root = JSON.createObjectNode();
    root.put("id", id);
    root.put("object", object);
    root.put("created", clock.instant().getEpochSecond());
    root.put("model", model);
    return root;
  }
}
