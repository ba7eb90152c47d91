package dev.duet.controller.openai;

/** Carries an {@link ApiError} out of request handling to the HTTP layer, which sends it. */
public final class ApiException extends RuntimeException {

  private final ApiError error;

  public ApiException(ApiError error) {
    super(error.message());
    this.error = error;
  }

  public ApiError error() {
    return error;
  }
}
