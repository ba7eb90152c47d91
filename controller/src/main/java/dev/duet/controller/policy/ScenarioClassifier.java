package dev.duet.controller.policy;

import java.util.Map;
import java.util.Objects;

/**
 * Puts a request in its scenario group: the first group of the policy, in file order, whose match
 * holds, else {@link Policy#DEFAULT_GROUP}. Immutable and thread-safe; build a new one when the
 * policy changes.
 */
public final class ScenarioClassifier {
  private final Policy policy;

  public ScenarioClassifier(Policy policy) {
    this.policy = Objects.requireNonNull(policy, "policy");
  }

  /**
   * The group of a request.
   *
   * @param model the model it asks for
   * @param headers its HTTP headers; names are compared ignoring case
   * @param promptTokens its prompt length in tokens
   */
  public String classify(String model, Map<String, String> headers, long promptTokens) {
    for (ScenarioGroup g : policy.groups()) {
      if (matches(g.match(), model, headers, promptTokens)) {
        return g.name();
      }
    }
    return Policy.DEFAULT_GROUP;
  }

  private static boolean matches(
      ScenarioGroup.Match m, String model, Map<String, String> headers, long promptTokens) {
    if (m.model().isPresent() && !m.model().get().equals(model)) {
      return false;
    }
    if (m.header().isPresent()) {
      var h = m.header().get();
      String value =
          headers.entrySet().stream()
              .filter(e -> e.getKey().equalsIgnoreCase(h.name()))
              .map(Map.Entry::getValue)
              .findFirst()
              .orElse(null);
      if (!h.value().equals(value)) {
        return false;
      }
    }
    return m.promptTokens().isEmpty() || m.promptTokens().get().contains(promptTokens);
  }
}
