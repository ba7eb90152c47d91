package dev.duet.controller.admin;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * What an {@link AdminHandler} answers: a status and a JSON body. Immutable.
 *
 * @param status a 2xx status (errors go through {@link dev.duet.controller.openai.ApiException})
 * @param body the JSON body
 */
public record AdminReply(int status, JsonNode body) {

  public AdminReply {
    if (status < 200 || status > 299) {
      throw new IllegalArgumentException(
          "a reply is 2xx (errors are ApiExceptions), got " + status);
    }
    Objects.requireNonNull(body, "body");
  }

  /** 200 with {@code body}. */
  public static AdminReply ok(JsonNode body) {
    return new AdminReply(200, body);
  }

  /** 202: accepted, happening in the background (a drain, a migration). */
  public static AdminReply accepted(JsonNode body) {
    return new AdminReply(202, body);
  }
}
