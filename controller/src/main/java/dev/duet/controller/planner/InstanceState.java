package dev.duet.controller.planner;

import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.StepTime;
import java.util.Objects;

/**
 * One worker instance as the planner sees it. Immutable. The controller builds these from the
 * registry, the {@link LoadTracker}'s capacities and its own record of flips in progress.
 *
 * @param id instance id
 * @param group the scenario group it serves
 * @param role its role, or the role it is flipping to while {@link Phase#FLIPPING}; {@code BOTH}
 *     instances count against the budget but are not planned
 * @param phase where it is in its life
 * @param prefillTokensPerS measured prefill throughput, 0 if never measured
 * @param decodeTokensPerS measured decode throughput (all streams), 0 if never measured
 * @param maxBatch streams it runs at once
 * @param kvTokens tokens its KV cache holds, 0 if unknown (then KV memory bounds nothing)
 * @param freeKvTokens of those, the ones no request holds or has reserved
 * @param decodeStep its measured decode pass time, {@link StepTime#UNKNOWN} if not measured
 * @param running requests it holds now
 * @param queuedPromptTokens prompt tokens waiting in its queue
 * @param roleSinceMillis when it took its current role (started, or began its last flip)
 */
public record InstanceState(
    String id,
    String group,
    InstanceRole role,
    Phase phase,
    double prefillTokensPerS,
    double decodeTokensPerS,
    int maxBatch,
    long kvTokens,
    long freeKvTokens,
    StepTime decodeStep,
    int running,
    long queuedPromptTokens,
    long roleSinceMillis) {

  /** Where an instance is in its life. */
  public enum Phase {
    /** Asked for through the {@code Scaler}, not serving yet. */
    STARTING,
    /** Serving its role. */
    ACTIVE,
    /** Finishing or migrating away its old role's work before serving {@link #role()}. */
    FLIPPING,
    /** Draining before it stops; no longer counted in its role. */
    STOPPING
  }

  public InstanceState {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(phase, "phase");
    Objects.requireNonNull(decodeStep, "decodeStep");
    if (!(prefillTokensPerS >= 0) || !(decodeTokensPerS >= 0)) {
      throw new IllegalArgumentException(
          id + ": throughputs must be >= 0, got " + prefillTokensPerS + ", " + decodeTokensPerS);
    }
    if (maxBatch < 1 || kvTokens < 0 || freeKvTokens < 0 || running < 0 || queuedPromptTokens < 0) {
      throw new IllegalArgumentException(
          id
              + ": needs maxBatch >= 1, kvTokens >= 0, running >= 0, queuedPromptTokens >= 0; got "
              + maxBatch
              + ", "
              + kvTokens
              + ", "
              + running
              + ", "
              + queuedPromptTokens);
    }
  }

  /** One whose KV capacity and decode pass time are unknown. */
  public InstanceState(
      String id,
      String group,
      InstanceRole role,
      Phase phase,
      double prefillTokensPerS,
      double decodeTokensPerS,
      int maxBatch,
      int running,
      long queuedPromptTokens,
      long roleSinceMillis) {
    this(
        id,
        group,
        role,
        phase,
        prefillTokensPerS,
        decodeTokensPerS,
        maxBatch,
        0,
        0,
        StepTime.UNKNOWN,
        running,
        queuedPromptTokens,
        roleSinceMillis);
  }

  /** Whether it counts toward {@code r} in {@code g}: it is, or soon will be, serving it. */
  boolean counts(String g, InstanceRole r) {
    return group.equals(g) && role == r && phase != Phase.STOPPING;
  }

  /** Whether it serves {@code r} in {@code g} right now. */
  boolean serves(String g, InstanceRole r) {
    return group.equals(g) && role == r && phase == Phase.ACTIVE;
  }
}
