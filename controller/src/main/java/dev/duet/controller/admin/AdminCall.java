package dev.duet.controller.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.ApiException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;

/**
 * One authenticated operator call, as a handler sees it. Immutable.
 *
 * @param id the {@code {id}} path segment (an instance id, or a request id such as {@code cmpl-…}),
 *     or null for paths without one
 * @param query query parameters, the first value of each
 * @param contentType the body's content type, or null
 * @param body the raw body (empty for GET)
 */
public record AdminCall(String id, Map<String, String> query, String contentType, byte[] body) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public AdminCall {
    query = Map.copyOf(query);
    body = Objects.requireNonNull(body, "body").clone();
  }

  @Override
  public byte[] body() {
    return body.clone();
  }

  /** The body as text (UTF-8), e.g. a YAML policy. */
  public String text() {
    return new String(body, StandardCharsets.UTF_8);
  }

  /**
   * The body as JSON; an empty body is an empty object.
   *
   * @throws ApiException (400) when it is not JSON
   */
  public JsonNode json() {
    if (body.length == 0) {
      return JSON.createObjectNode();
    }
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new ApiException(ApiError.invalid(null, "the body is not JSON: " + e.getMessage()));
    }
  }

  /**
   * A boolean query parameter such as {@code dryRun}: absent is false.
   *
   * @throws ApiException (400) when it is neither {@code true} nor {@code false}
   */
  public boolean flag(String name) {
    String v = query.get(name);
    if (v == null || v.equals("false")) {
      return false;
    }
    if (v.equals("true") || v.isEmpty()) {
      return true;
    }
    throw new ApiException(
        ApiError.invalid(name, name + " must be true or false, got '" + v + "'"));
  }
}
