package dev.duet.controller.policy;

/**
 * One reason a policy file was refused: where, what it held, and why. Reads as {@code path: value:
 * reason}, e.g. {@code groups[1].match.promptTokens.max: -3: must be > min (0)}.
 *
 * @param path the key's path, dotted, with list indices ({@code groups[1].name}); {@code
 *     <document>} for the file as a whole
 * @param value the offending value as written, {@code <missing>} if absent
 * @param reason what is wrong, in words a user can act on
 */
public record PolicyError(String path, String value, String reason) {
  @Override
  public String toString() {
    return path + ": " + value + ": " + reason;
  }
}
