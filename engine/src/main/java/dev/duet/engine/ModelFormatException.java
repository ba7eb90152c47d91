package dev.duet.engine;

/**
 * A model file or directory that Duet cannot use: truncated, corrupt, or of an unsupported
 * architecture or dtype. The message names the file, the key or tensor, and what is wrong.
 */
public class ModelFormatException extends RuntimeException {
  public ModelFormatException(String message) {
    super(message);
  }

  public ModelFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
