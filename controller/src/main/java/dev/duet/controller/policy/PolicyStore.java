package dev.duet.controller.policy;

import java.time.InstantSource;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the current policy, versioned: {@link #replace} parses and validates a new document and
 * either makes it current (version + 1, who, when, source) or leaves the current one and returns
 * the errors. Listeners hear every accepted version, in order, on the thread that replaced it.
 *
 * <p>Thread-safe: replacements are serialized; {@link #current()} is a volatile read. Until
 * Hazelcast backs it, this is the in-memory store the architecture calls for.
 */
public final class PolicyStore {
  private static final Logger log = LoggerFactory.getLogger(PolicyStore.class);

  private final InstantSource clock;
  private final List<Consumer<VersionedPolicy>> listeners = new CopyOnWriteArrayList<>();
  private volatile VersionedPolicy current;

  /** A store whose version 1 is {@link Policy#defaults()}. */
  public PolicyStore(InstantSource clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.current = new VersionedPolicy(1, Policy.defaults(), "defaults", clock.instant(), "");
  }

  /** What {@link #replace} answers: the new version, or why the document was refused. */
  public sealed interface Outcome {
    /** The document is now the current policy. */
    record Accepted(VersionedPolicy version) implements Outcome {}

    /** The document was refused; the current policy is unchanged. */
    record Rejected(List<PolicyError> errors) implements Outcome {
      public Rejected {
        errors = List.copyOf(errors);
      }
    }
  }

  public VersionedPolicy current() {
    return current;
  }

  /**
   * Validates {@code yaml} and, if it is valid, makes it the current policy, put there by {@code
   * who}.
   */
  public Outcome replace(String yaml, String who) {
    Objects.requireNonNull(yaml, "yaml");
    Objects.requireNonNull(who, "who");
    Policy policy;
    try {
      policy = PolicyParser.parse(yaml);
    } catch (InvalidPolicyException e) {
      return new Outcome.Rejected(e.errors());
    }
    VersionedPolicy next;
    synchronized (this) {
      next = new VersionedPolicy(current.version() + 1, policy, who, clock.instant(), yaml);
      current = next;
      for (Consumer<VersionedPolicy> l : listeners) {
        try {
          l.accept(next);
        } catch (RuntimeException e) {
          log.warn("policy listener {} failed on version {}", l, next.version(), e);
        }
      }
    }
    return new Outcome.Accepted(next);
  }

  /** Parses and validates {@code yaml} without changing anything (for a dry run). */
  public static Policy validate(String yaml) throws InvalidPolicyException {
    return PolicyParser.parse(yaml);
  }

  /** Calls {@code listener} with every version accepted from now on. */
  public void addListener(Consumer<VersionedPolicy> listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  public void removeListener(Consumer<VersionedPolicy> listener) {
    listeners.remove(listener);
  }
}
