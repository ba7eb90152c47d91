package dev.duet.controller.policy;

import java.time.Instant;
import java.util.Objects;

/**
 * One accepted version of the policy. Immutable.
 *
 * @param version 1 for the first policy a store held, then one more per accepted change
 * @param policy the parsed policy
 * @param who who put it there (an operator's name, {@code file:PATH}, {@code defaults})
 * @param when when it was accepted
 * @param source the YAML text it was parsed from (empty for the defaults)
 */
public record VersionedPolicy(
    long version, Policy policy, String who, Instant when, String source) {
  public VersionedPolicy {
    if (version < 1) {
      throw new IllegalArgumentException("version must be >= 1, got " + version);
    }
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(who, "who");
    Objects.requireNonNull(when, "when");
    Objects.requireNonNull(source, "source");
  }
}
