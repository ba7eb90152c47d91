package dev.duet.cli;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.TimeUnit;

/**
 * Stopping the child processes the CLI starts (controllers, workers): ask politely ({@link
 * Process#destroy}, SIGTERM, so that a duet process drains and closes its ports), wait up to a
 * grace period, then kill ({@link Process#destroyForcibly}, SIGKILL) and wait for the exit, which a
 * killed process cannot delay. An interrupted wait kills the process at once: a stop never leaves a
 * child running behind it.
 *
 * <p>Stateless; thread-safe. Each call blocks its thread until the processes it stops have exited
 * or the thread is interrupted.
 */
final class Processes {
  private Processes() {}

  /**
   * Stops {@code p}; an interrupt kills it and propagates.
   *
   * @param grace how long it may take to exit after the polite request, before it is killed
   * @throws InterruptedException when interrupted while waiting; {@code p} has been killed by then
   *     (not necessarily reaped yet)
   */
  static void stopInterruptibly(Process p, Duration grace) throws InterruptedException {
    p.destroy();
    awaitOrKill(p, grace);
  }

  /**
   * Stops {@code p}, for close paths that cannot throw: an interrupt kills it and leaves the
   * thread's interrupt flag set.
   *
   * @param grace how long it may take to exit after the polite request, before it is killed
   */
  static void stop(Process p, Duration grace) {
    try {
      stopInterruptibly(p, grace);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Stops every process of {@code ps}: asks them all first, so that they shut down side by side,
   * then waits for each in turn, up to {@code grace} from when its turn comes, killing it if it is
   * still running then. After an interrupt every one still running is killed at once, and the
   * thread's interrupt flag stays set.
   */
  static void stopAll(Collection<Process> ps, Duration grace) {
    for (Process p : ps) {
      p.destroy();
    }
    for (Process p : ps) {
      try {
        awaitOrKill(p, grace);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Waits up to {@code grace} for {@code p} to exit, then kills it and waits for that. */
  private static void awaitOrKill(Process p, Duration grace) throws InterruptedException {
    try {
      if (!p.waitFor(grace.toNanos(), TimeUnit.NANOSECONDS)) {
        p.destroyForcibly();
        p.waitFor();
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      throw e;
    }
  }
}
