package dev.duet.engine.hub;

import java.io.IOException;

/**
 * The hub did not answer at all (connection refused, unknown host, connect timeout), as opposed to
 * answering with an error status. {@link HfHub} falls back to the cache on this one.
 */
public final class HubUnreachableException extends HubException {
  public HubUnreachableException(String message, IOException cause) {
    super(message, cause);
  }
}
