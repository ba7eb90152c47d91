package dev.duet.engine.hub;

import java.time.Duration;

/**
 * Interrupts a thread that is reading a response body when no bytes have arrived for a while: the
 * JDK's HTTP client bounds the wait for headers, not the gaps inside a body. An interrupted read of
 * the client's body stream fails with an {@link java.io.IOException}.
 *
 * <p>{@link #progressed} is called by the reading thread; the check runs on a virtual thread of its
 * own. {@link #stop} must be called when reading ends, before the reader's interrupt flag matters.
 */
final class StallWatchdog {
  private final Thread reader;
  private final long limitNanos;
  private final Thread checker;
  private volatile long lastProgress = System.nanoTime();
  private boolean stopped;
  private boolean fired;

  StallWatchdog(Thread reader, Duration limit) {
    this.reader = reader;
    this.limitNanos = limit.toNanos();
    this.checker = Thread.ofVirtual().name("hub-stall-watchdog").start(this::watch);
  }

  /** Bytes arrived just now. */
  void progressed() {
    lastProgress = System.nanoTime();
  }

  /**
   * Ends the watch and clears an interrupt it caused.
   *
   * @return whether the watchdog fired (the reader was interrupted for a stall)
   */
  boolean stop() {
    boolean result;
    synchronized (this) {
      stopped = true;
      result = fired;
    }
    checker.interrupt();
    if (result) {
      Thread.interrupted(); // the interrupt was ours, not the caller's
    }
    return result;
  }

  private void watch() {
    long pollNanos = Math.max(limitNanos / 8, 1_000_000);
    try {
      while (true) {
        Thread.sleep(Duration.ofNanos(pollNanos));
        synchronized (this) {
          if (stopped) {
            return;
          }
          if (System.nanoTime() - lastProgress > limitNanos) {
            fired = true;
            reader.interrupt();
            return;
          }
        }
      }
    } catch (InterruptedException e) {
      // stopped
    }
  }
}
