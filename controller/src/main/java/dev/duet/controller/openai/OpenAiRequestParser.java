package dev.duet.controller.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.openai.OpenAiRequest.Kind;
import dev.duet.engine.chat.ChatMessage;
import dev.duet.engine.sampling.SamplingParams;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Validates an OpenAI request body into an {@link OpenAiRequest}, or throws an {@link ApiException}
 * whose 400 error names the field. Every field OpenAI defines is either honoured or refused: an
 * option Duet does not implement ({@code n > 1}, {@code logprobs}, penalties, tools, ...) and a
 * field nobody defines are errors, never silently ignored. Defaults are OpenAI's: {@code
 * temperature} 1, {@code top_p} 1, {@code max_tokens} 16 for completions and "up to the context"
 * for chat.
 *
 * <p>Stateless; thread-safe.
 */
public final class OpenAiRequestParser {

  /** OpenAI's default {@code max_tokens} for {@code /v1/completions}. */
  public static final int DEFAULT_COMPLETION_MAX_TOKENS = 16;

  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Set<String> COMMON =
      Set.of(
          "model",
          "max_tokens",
          "temperature",
          "top_p",
          "top_k",
          "seed",
          "stop",
          "stream",
          "stream_options",
          "n",
          "best_of",
          "logprobs",
          "logit_bias",
          "presence_penalty",
          "frequency_penalty",
          "repetition_penalty",
          "user",
          "ignore_eos");
  private static final Set<String> COMPLETION_ONLY = Set.of("prompt", "echo", "suffix");
  private static final Set<String> CHAT_ONLY =
      Set.of(
          "messages",
          "max_completion_tokens",
          "top_logprobs",
          "tools",
          "tool_choice",
          "functions",
          "function_call",
          "response_format",
          "parallel_tool_calls",
          "store",
          "metadata");

  private OpenAiRequestParser() {}

  /** Parses and validates {@code body}, sent to the endpoint of {@code kind}. */
  public static OpenAiRequest parse(Kind kind, byte[] body) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw fail(ApiError.invalid(null, "the body is not valid JSON: " + e.getOriginalMessage()));
    } catch (IOException e) {
      throw fail(ApiError.invalid(null, "the body cannot be read: " + e.getMessage()));
    }
    if (root == null || !root.isObject()) {
      throw fail(ApiError.invalid(null, "the body must be a JSON object"));
    }
    return parse(kind, root);
  }

  static OpenAiRequest parse(Kind kind, JsonNode root) {
    rejectUnknown(kind, root);
    rejectUnsupported(kind, root);
    String model = string(root, "model", true);
    String promptText = null;
    int[] promptIds = null;
    List<ChatMessage> messages = null;
    OptionalInt maxTokens;
    if (kind == Kind.COMPLETION) {
      JsonNode prompt = root.get("prompt");
      if (prompt == null || prompt.isNull()) {
        throw fail(ApiError.invalid("prompt", "prompt is required"));
      }
      if (prompt.isTextual()) {
        promptText = prompt.asText();
      } else if (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isTextual()) {
        promptText = prompt.get(0).asText();
      } else if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isNumber()) {
        promptIds = tokenIds(prompt);
      } else if (prompt.isArray() && prompt.size() > 1) {
        throw fail(
            ApiError.unsupported(
                "prompt", "a list of several prompts is not supported; send one request each"));
      } else {
        throw fail(
            ApiError.invalid(
                "prompt", "prompt must be a string or a non-empty array of token ids"));
      }
      maxTokens = OptionalInt.of(optionalInt(root, "max_tokens", DEFAULT_COMPLETION_MAX_TOKENS));
    } else {
      try {
        messages = ChatMessage.listFromJson(root.path("messages"));
      } catch (IllegalArgumentException e) {
        throw fail(ApiError.invalid("messages", e.getMessage()));
      }
      String key = root.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
      maxTokens =
          root.hasNonNull(key) ? OptionalInt.of(optionalInt(root, key, 1)) : OptionalInt.empty();
    }
    if (maxTokens.isPresent() && maxTokens.getAsInt() < 1) {
      throw fail(ApiError.invalid("max_tokens", "max_tokens must be >= 1"));
    }
    float temperature = number(root, "temperature", 1f);
    if (temperature < 0f || temperature > 2f) {
      throw fail(ApiError.invalid("temperature", "temperature must be in [0, 2]"));
    }
    float topP = number(root, "top_p", 1f);
    if (!(topP > 0f) || topP > 1f) {
      throw fail(ApiError.invalid("top_p", "top_p must be in (0, 1]"));
    }
    int topK = optionalInt(root, "top_k", 0);
    if (topK < -1) {
      throw fail(ApiError.invalid("top_k", "top_k must be -1 or 0 (off) or >= 1"));
    }
    OptionalLong seed =
        root.hasNonNull("seed") ? OptionalLong.of(longValue(root, "seed")) : OptionalLong.empty();
    boolean stream = bool(root, "stream", false);
    boolean includeUsage = false;
    JsonNode so = root.get("stream_options");
    if (so != null && !so.isNull()) {
      if (!stream) {
        throw fail(ApiError.invalid("stream_options", "stream_options needs stream: true"));
      }
      if (!so.isObject()) {
        throw fail(ApiError.invalid("stream_options", "stream_options must be an object"));
      }
      includeUsage = bool(so, "include_usage", false);
    }
    return new OpenAiRequest(
        kind,
        model,
        promptText,
        promptIds,
        messages,
        maxTokens,
        temperature,
        topP,
        Math.max(topK, 0),
        seed,
        stops(root),
        bool(root, "ignore_eos", false),
        stream,
        includeUsage);
  }

  private static void rejectUnknown(Kind kind, JsonNode root) {
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      boolean known =
          COMMON.contains(f) || (kind == Kind.COMPLETION ? COMPLETION_ONLY : CHAT_ONLY).contains(f);
      if (!known) {
        throw fail(ApiError.unsupported(f, "unrecognized request argument: " + f));
      }
    }
  }

  /** Fields OpenAI defines whose non-default values Duet does not implement. */
  private static void rejectUnsupported(Kind kind, JsonNode root) {
    requireDefault(root, "n", 1, "n > 1 (several choices) is not supported");
    requireDefault(root, "best_of", 1, "best_of > 1 is not supported");
    requireDefault(root, "presence_penalty", 0, "presence_penalty is not supported");
    requireDefault(root, "frequency_penalty", 0, "frequency_penalty is not supported");
    requireDefault(root, "repetition_penalty", 1, "repetition_penalty is not supported");
    JsonNode logprobs = root.get("logprobs");
    if (logprobs != null && !logprobs.isNull() && !logprobs.equals(JSON.valueToTree(false))) {
      if (!(logprobs.isInt() && logprobs.asInt() == 0)) {
        throw fail(ApiError.unsupported("logprobs", "logprobs are not supported"));
      }
    }
    requireAbsent(root, "top_logprobs", "top_logprobs are not supported");
    JsonNode bias = root.get("logit_bias");
    if (bias != null && !bias.isNull() && !bias.isEmpty()) {
      throw fail(ApiError.unsupported("logit_bias", "logit_bias is not supported"));
    }
    if (kind == Kind.COMPLETION) {
      if (root.path("echo").asBoolean(false)) {
        throw fail(ApiError.unsupported("echo", "echo is not supported"));
      }
      requireAbsent(root, "suffix", "suffix is not supported");
    } else {
      for (String f : List.of("tools", "functions")) {
        JsonNode t = root.get(f);
        if (t != null && !t.isNull() && !t.isEmpty()) {
          throw fail(ApiError.unsupported(f, f + " (tool calling) are not supported"));
        }
      }
      for (String f : List.of("tool_choice", "function_call")) {
        JsonNode t = root.get(f);
        if (t != null && !t.isNull() && !t.asText("").equals("none")) {
          throw fail(ApiError.unsupported(f, f + " is not supported"));
        }
      }
      JsonNode rf = root.get("response_format");
      if (rf != null && !rf.isNull() && !rf.path("type").asText("").equals("text")) {
        throw fail(
            ApiError.unsupported(
                "response_format", "only response_format {\"type\": \"text\"} is supported"));
      }
    }
  }

  private static void requireDefault(JsonNode root, String f, double value, String message) {
    JsonNode v = root.get(f);
    if (v == null || v.isNull()) {
      return;
    }
    if (!v.isNumber()) {
      throw fail(ApiError.invalid(f, f + " must be a number"));
    }
    if (v.asDouble() != value) {
      throw fail(ApiError.unsupported(f, message));
    }
  }

  private static void requireAbsent(JsonNode root, String f, String message) {
    JsonNode v = root.get(f);
    if (v != null && !v.isNull() && !(v.isInt() && v.asInt() == 0)) {
      throw fail(ApiError.unsupported(f, message));
    }
  }

  private static List<String> stops(JsonNode root) {
    JsonNode s = root.get("stop");
    List<String> out = new ArrayList<>();
    if (s == null || s.isNull()) {
      return out;
    }
    if (s.isTextual()) {
      out.add(s.asText());
    } else if (s.isArray()) {
      for (JsonNode x : s) {
        if (!x.isTextual()) {
          throw fail(ApiError.invalid("stop", "stop must be a string or an array of strings"));
        }
        out.add(x.asText());
      }
    } else {
      throw fail(ApiError.invalid("stop", "stop must be a string or an array of strings"));
    }
    if (out.size() > SamplingParams.MAX_STOP_STRINGS) {
      throw fail(
          ApiError.invalid(
              "stop", "at most " + SamplingParams.MAX_STOP_STRINGS + " stop strings are allowed"));
    }
    if (out.stream().anyMatch(String::isEmpty)) {
      throw fail(ApiError.invalid("stop", "stop strings must not be empty"));
    }
    return out;
  }

  private static int[] tokenIds(JsonNode array) {
    int[] ids = new int[array.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode v = array.get(i);
      if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
        throw fail(ApiError.invalid("prompt", "prompt[" + i + "] is not a token id"));
      }
      ids[i] = v.asInt();
    }
    return ids;
  }

  private static String string(JsonNode root, String f, boolean required) {
    JsonNode v = root.get(f);
    if (v == null || v.isNull()) {
      if (required) {
        throw fail(ApiError.invalid(f, f + " is required"));
      }
      return null;
    }
    if (!v.isTextual()) {
      throw fail(ApiError.invalid(f, f + " must be a string"));
    }
    return v.asText();
  }

  private static int optionalInt(JsonNode root, String f, int fallback) {
    JsonNode v = root.get(f);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw fail(ApiError.invalid(f, f + " must be an integer"));
    }
    return v.asInt();
  }

  private static long longValue(JsonNode root, String f) {
    JsonNode v = root.get(f);
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw fail(ApiError.invalid(f, f + " must be an integer"));
    }
    return v.asLong();
  }

  private static float number(JsonNode root, String f, float fallback) {
    JsonNode v = root.get(f);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isNumber()) {
      throw fail(ApiError.invalid(f, f + " must be a number"));
    }
    return (float) v.asDouble();
  }

  private static boolean bool(JsonNode root, String f, boolean fallback) {
    JsonNode v = root.get(f);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isBoolean()) {
      throw fail(ApiError.invalid(f, f + " must be true or false"));
    }
    return v.asBoolean();
  }

  private static ApiException fail(ApiError e) {
    return new ApiException(e);
  }
}
