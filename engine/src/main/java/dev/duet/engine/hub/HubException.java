package dev.duet.engine.hub;

import java.io.IOException;

/**
 * A model could not be fetched from the hub or found in the cache. The message names the spec, file
 * or URL and says what to do (set {@code HF_TOKEN}, name a {@code .gguf}, go online).
 */
public class HubException extends IOException {
  public HubException(String message) {
    super(message);
  }

  public HubException(String message, Throwable cause) {
    super(message, cause);
  }
}
