package dev.duet.controller.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * A scenario group (P/D-Serve's fine-grained organization): the requests it {@link Match matches}
 * are served by the group's own instances, sized by the planner to the group's own prefill:decode
 * ratio under its SLO. Immutable.
 *
 * @param name unique, not {@link Policy#DEFAULT_GROUP}
 * @param match which requests belong here; every given criterion must hold
 * @param roles the group's role bounds
 * @param slo the group's SLO
 */
public record ScenarioGroup(String name, Match match, Policy.Roles roles, Policy.Slo slo) {

  public ScenarioGroup {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("group name must not be blank, got " + name);
    }
    Objects.requireNonNull(match, "match");
    Objects.requireNonNull(roles, "roles");
    Objects.requireNonNull(slo, "slo");
  }

  /**
   * What puts a request in a group. Empty optionals do not constrain; at least one is given.
   *
   * @param model the request's model, exactly
   * @param header a request header, name case-insensitive, value exact
   * @param promptTokens prompt length range
   */
  public record Match(
      Optional<String> model, Optional<HeaderMatch> header, Optional<TokenRange> promptTokens) {
    public Match {
      Objects.requireNonNull(model, "model");
      Objects.requireNonNull(header, "header");
      Objects.requireNonNull(promptTokens, "promptTokens");
      if (model.isEmpty() && header.isEmpty() && promptTokens.isEmpty()) {
        throw new IllegalArgumentException("a match needs model, header or promptTokens");
      }
    }
  }

  /** A header {@code name} whose value is {@code value}. */
  public record HeaderMatch(String name, String value) {
    public HeaderMatch {
      if (name == null || name.isBlank() || value == null) {
        throw new IllegalArgumentException("header match needs a name and a value");
      }
    }
  }

  /** Prompt lengths {@code min <= tokens < max}. */
  public record TokenRange(long min, long max) {
    public TokenRange {
      if (min < 0 || max <= min) {
        throw new IllegalArgumentException(
            "token range needs 0 <= min < max, got min " + min + ", max " + max);
      }
    }

    public boolean contains(long tokens) {
      return tokens >= min && tokens < max;
    }
  }
}
