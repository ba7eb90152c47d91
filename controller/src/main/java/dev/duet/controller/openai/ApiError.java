package dev.duet.controller.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * An error as the OpenAI API reports it: an HTTP status and {@code {"error": {"message", "type",
 * "param", "code"}}}. Immutable.
 *
 * @param status HTTP status
 * @param type OpenAI's error type ({@code invalid_request_error}, {@code not_found_error}, ...)
 * @param param the request field at fault, or null
 * @param code a machine-readable code, or null
 * @param message what is wrong, for a person
 */
public record ApiError(int status, String type, String param, String code, String message) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public ApiError {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(message, "message");
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("an error status is 4xx or 5xx, got " + status);
    }
  }

  /** 400: a field is malformed, of the wrong type, out of range, or not supported. */
  public static ApiError invalid(String param, String message) {
    return new ApiError(400, "invalid_request_error", param, null, message);
  }

  /** 400 for an option Duet does not implement: never silently ignored. */
  public static ApiError unsupported(String param, String message) {
    return new ApiError(400, "invalid_request_error", param, "unsupported_parameter", message);
  }

  /** 404: the model (or another named thing) does not exist here. */
  public static ApiError notFound(String param, String message) {
    return new ApiError(404, "not_found_error", param, "model_not_found", message);
  }

  /** 409: the named thing is in a state that does not allow the call (e.g. flipping already). */
  public static ApiError conflict(String param, String message) {
    return new ApiError(409, "conflict_error", param, "conflict", message);
  }

  /** 413: the body is over the size limit. */
  public static ApiError tooLarge(String message) {
    return new ApiError(413, "invalid_request_error", null, "request_too_large", message);
  }

  /** 422: well-formed but cannot be served, e.g. a prompt longer than the context. */
  public static ApiError unprocessable(String param, String message) {
    return new ApiError(422, "invalid_request_error", param, "context_length_exceeded", message);
  }

  /** 502: a worker answered what the controller cannot pass on, or failed mid-answer. */
  public static ApiError upstream(String message) {
    return new ApiError(502, "upstream_error", null, null, message);
  }

  /** 503: no instance can take the request now; the client should retry later. */
  public static ApiError overloaded(String message) {
    return new ApiError(503, "server_overloaded", null, "overloaded", message);
  }

  /** The response body. */
  public ObjectNode toJson() {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode e = root.putObject("error");
    e.put("message", message);
    e.put("type", type);
    e.put("param", param);
    e.put("code", code);
    return root;
  }
}
