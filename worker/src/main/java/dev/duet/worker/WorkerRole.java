package dev.duet.worker;

import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A worker's role now ({@code prefill}, {@code decode} or {@code both}), which decides the work its
 * endpoints accept, and the in-place flip between prefill and decode. A flip is refused while the
 * worker still holds any request (queued, running, frozen or reserved): the controller drains it
 * first. Each flip bumps the {@link #epoch()}, so the controller can tell a heartbeat sent before a
 * flip from one sent after.
 *
 * <p>Admission and a flip exclude each other: an endpoint checks the role and hands its work to the
 * step loop under this object's monitor ({@link #admit}); a flip marks itself pending and queues
 * its count of the requests held under the same monitor. Work queued before the flip is counted
 * (the step loop's command queue is FIFO); work arriving while it is pending is refused. So no
 * request of the old role can slip in between the count and the change.
 *
 * <p>Threading: thread-safe.
 */
public final class WorkerRole {

  /** Work an endpoint brings, and the roles that take it. */
  public enum Work {
    /** A prompt to prefill and hand off ({@code /internal/v1/prefill}). */
    PREFILL("prefill"),
    /** KV to receive and decode ({@code reserve}, {@code resume}, {@code recover}, migrations). */
    DECODE("decode");

    private final String role;

    Work(String role) {
      this.role = role;
    }

    boolean takenBy(String r) {
      return r.equals("both") || r.equals(role);
    }
  }

  /**
   * The requests a worker holds, counted on its step thread.
   *
   * @param queued waiting for admission
   * @param running prefilling, decoding or frozen for a migration
   * @param reserved KV blocks reserved for a request whose snapshot has not arrived
   */
  public record Held(int queued, int running, int reserved) {
    public boolean none() {
      return queued == 0 && running == 0 && reserved == 0;
    }

    @Override
    public String toString() {
      return queued + " queued, " + running + " running, " + reserved + " reserved";
    }
  }

  /**
   * How a flip ended.
   *
   * @param changed whether the role changed (false when it was already {@code role}, or refused)
   * @param role the role now
   * @param previous the role before
   * @param epoch the role's epoch now
   * @param refusal why it was refused (null when it was not)
   * @param held what the worker held when it counted (null when it did not count)
   */
  public record Flip(
      boolean changed, String role, String previous, long epoch, String refusal, Held held) {}

  /** Thrown by {@link #admit} when this role does not take that work. */
  public static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message);
    }
  }

  private String role;
  private long epoch;
  private boolean pending;

  /**
   * @param role {@code prefill}, {@code decode} or {@code both}
   */
  public WorkerRole(String role) {
    this.role = parse(role, true);
  }

  /** Parses a role name; {@code both} only when {@code bothAllowed}. */
  static String parse(String role, boolean bothAllowed) {
    String r = role == null ? "" : role.toLowerCase(Locale.ROOT);
    if (r.equals("prefill") || r.equals("decode") || (bothAllowed && r.equals("both"))) {
      return r;
    }
    throw new IllegalArgumentException(
        "role must be prefill or decode"
            + (bothAllowed ? " or both" : "")
            + ", not '"
            + role
            + "'");
  }

  public synchronized String current() {
    return role;
  }

  /**
   * The role and its epoch, read together.
   *
   * @param role {@code prefill}, {@code decode} or {@code both}
   * @param epoch how many times the role has flipped since the worker started
   */
  public record State(String role, long epoch) {}

  public synchronized State state() {
    return new State(role, epoch);
  }

  /** How many times the role has flipped since the worker started. */
  public synchronized long epoch() {
    return epoch;
  }

  /**
   * Hands {@code work} to the step loop (via {@code enqueue}) if this role takes it.
   *
   * @throws Refused naming the role when it does not, or while a flip is pending
   */
  public synchronized <T> T admit(Work work, Supplier<T> enqueue) {
    if (pending) {
      throw new Refused("this worker is flipping its role (now " + role + "); try another");
    }
    if (!work.takenBy(role)) {
      throw new Refused("this worker's role is " + role + "; it takes no " + work.role + " work");
    }
    return enqueue.get();
  }

  /**
   * Flips to {@code to} if the worker holds no request; {@code count} queues the count on the step
   * thread. Completes with the flip's outcome, never exceptionally for a refusal.
   *
   * @throws IllegalArgumentException when {@code to} is neither prefill nor decode
   */
  public CompletableFuture<Flip> flip(String to, Supplier<CompletableFuture<Held>> count) {
    String target = parse(to, false);
    CompletableFuture<Held> counted;
    synchronized (this) {
      if (role.equals("both")) {
        return refused("a colocated (both) worker cannot flip its role", null);
      }
      if (pending) {
        return refused("a flip of this worker is under way already", null);
      }
      if (role.equals(target)) {
        return CompletableFuture.completedFuture(new Flip(false, role, role, epoch, null, null));
      }
      pending = true;
      counted = count.get();
    }
    return counted.handle(
        (held, failure) -> {
          synchronized (this) {
            pending = false;
            if (failure != null) {
              return new Flip(
                  false, role, role, epoch, "cannot count its requests: " + failure, null);
            }
            if (!held.none()) {
              return new Flip(
                  false,
                  role,
                  role,
                  epoch,
                  "this " + role + " worker still holds " + held + " requests; drain it first",
                  held);
            }
            String previous = role;
            role = target;
            epoch++;
            return new Flip(true, role, previous, epoch, null, held);
          }
        });
  }

  private synchronized CompletableFuture<Flip> refused(String why, Held held) {
    return CompletableFuture.completedFuture(new Flip(false, role, role, epoch, why, held));
  }
}
