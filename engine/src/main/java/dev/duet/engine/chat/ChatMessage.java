package dev.duet.engine.chat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One turn of a conversation, as chat templates and the OpenAI chat API see it: a role ({@code
 * system}, {@code user}, {@code assistant}, or whatever else a template accepts) and its text.
 *
 * <p>Immutable; safe to share between threads.
 */
public record ChatMessage(String role, String content) {

  public ChatMessage {
    if (role == null || role.isBlank()) {
      throw new IllegalArgumentException("chat message role must be non-blank, got '" + role + "'");
    }
    if (content == null) {
      throw new IllegalArgumentException(
          "chat message content must not be null (role " + role + ")");
    }
  }

  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }

  public static ChatMessage assistant(String content) {
    return new ChatMessage("assistant", content);
  }

  /**
   * Reads an OpenAI-style message {@code {"role": ..., "content": ...}}. The content is a string,
   * or a list of parts of which only {@code {"type": "text", "text": ...}} are accepted; their
   * texts are joined with newlines. {@code where} names the message in errors (e.g. {@code
   * "messages[2]"}).
   *
   * @throws IllegalArgumentException naming {@code where} and the field when the shape is wrong
   */
  public static ChatMessage fromJson(JsonNode node, String where) {
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(
          where + ": a message must be an object with role and content");
    }
    JsonNode role = node.get("role");
    if (role == null || !role.isTextual()) {
      throw new IllegalArgumentException(where + ".role: must be a string");
    }
    JsonNode content = node.get("content");
    if (content == null || content.isNull()) {
      throw new IllegalArgumentException(where + ".content: is missing");
    }
    if (content.isTextual()) {
      return new ChatMessage(role.asText(), content.asText());
    }
    if (!content.isArray()) {
      throw new IllegalArgumentException(
          where
              + ".content: must be a string or a list of text parts, got "
              + content.getNodeType());
    }
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < content.size(); i++) {
      JsonNode part = content.get(i);
      String type = part.path("type").asText("");
      if (!type.equals("text")) {
        throw new IllegalArgumentException(
            where
                + ".content["
                + i
                + "]: part type '"
                + type
                + "' is not supported (only \"text\" parts are)");
      }
      JsonNode text = part.get("text");
      if (text == null || !text.isTextual()) {
        throw new IllegalArgumentException(where + ".content[" + i + "].text: must be a string");
      }
      texts.add(text.asText());
    }
    return new ChatMessage(role.asText(), String.join("\n", texts));
  }

  /**
   * Reads a JSON array of OpenAI-style messages (see {@link #fromJson(JsonNode, String)}).
   *
   * @throws IllegalArgumentException when it is not a non-empty array of valid messages
   */
  public static List<ChatMessage> listFromJson(JsonNode array) {
    if (array == null || !array.isArray() || array.isEmpty()) {
      throw new IllegalArgumentException("messages: must be a non-empty JSON array");
    }
    List<ChatMessage> messages = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      messages.add(fromJson(array.get(i), "messages[" + i + "]"));
    }
    return List.copyOf(messages);
  }
}
