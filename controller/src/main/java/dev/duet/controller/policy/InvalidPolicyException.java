package dev.duet.controller.policy;

import java.util.List;
import java.util.stream.Collectors;

/** A policy document that failed validation; carries every error found, not just the first. */
public final class InvalidPolicyException extends Exception {
  private final transient List<PolicyError> errors;

  public InvalidPolicyException(List<PolicyError> errors) {
    super(
        "invalid policy ("
            + errors.size()
            + (errors.size() == 1 ? " error" : " errors")
            + "):\n  "
            + errors.stream().map(PolicyError::toString).collect(Collectors.joining("\n  ")));
    this.errors = List.copyOf(errors);
  }

  public List<PolicyError> errors() {
    return errors;
  }
}
