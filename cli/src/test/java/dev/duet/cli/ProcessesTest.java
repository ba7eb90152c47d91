package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Processes} with real child processes: {@code sleep}, which SIGTERM ends, and a shell that
 * ignores SIGTERM and so only SIGKILL ends.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProcessesTest {
  /** Exit status of a process ended by SIGTERM (128 + 15), as {@link Process#exitValue} says. */
  private static final int TERMINATED = 143;

  /** Exit status of a process ended by SIGKILL (128 + 9). */
  private static final int KILLED = 137;

  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    started.forEach(Process::destroyForcibly);
  }

  private Process polite() throws IOException {
    Process p = new ProcessBuilder("sleep", "60").start();
    started.add(p);
    return p;
  }

  /** A process that ignores SIGTERM, returned once it does (it says so on its stdout). */
  private Process stubborn() throws IOException {
    Process p = new ProcessBuilder("sh", "-c", "trap '' TERM; echo ready; exec sleep 60").start();
    started.add(p);
    try (var out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      assertThat(out.readLine()).isEqualTo("ready");
    }
    return p;
  }

  @Test
  void aProcessThatHeedsSigtermEndsWithItWellWithinTheGrace() throws Exception {
    Process p = polite();
    long t0 = System.nanoTime();
    Processes.stop(p, Duration.ofSeconds(20));
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    assertThat(p.isAlive()).isFalse();
    assertThat(p.exitValue()).isEqualTo(TERMINATED);
  }

  @Test
  void aProcessThatIgnoresSigtermIsKilledOnceTheGraceIsOver() throws Exception {
    Process p = stubborn();
    long t0 = System.nanoTime();
    Processes.stop(p, Duration.ofMillis(300));
    assertThat(Duration.ofNanos(System.nanoTime() - t0))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    assertThat(p.isAlive()).as("stop returns once the killed process has exited").isFalse();
    assertThat(p.exitValue()).isEqualTo(KILLED);
  }

  @Test
  void anInterruptedStopKillsAtOnceAndKeepsTheInterruptFlag() throws Exception {
    Process p = stubborn();
    long t0 = System.nanoTime();
    Thread.currentThread().interrupt();
    Processes.stop(p, Duration.ofSeconds(60));
    assertThat(Thread.interrupted()).as("the interrupt flag is left set").isTrue();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    assertThat(p.exitValue()).isEqualTo(KILLED);
  }

  @Test
  void anInterruptibleStopKillsAndThrowsWhenInterrupted() throws Exception {
    Process p = stubborn();
    Thread.currentThread().interrupt();
    assertThatThrownBy(() -> Processes.stopInterruptibly(p, Duration.ofSeconds(60)))
        .isInstanceOf(InterruptedException.class);
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(KILLED);
  }

  @Test
  void stopAllAsksEveryProcessFirstAndKillsOnlyTheOnesThatOutstayTheGrace() throws Exception {
    Process stubborn = stubborn();
    Process polite = polite();
    Processes.stopAll(List.of(stubborn, polite), Duration.ofMillis(300));
    assertThat(stubborn.isAlive()).isFalse();
    assertThat(polite.isAlive()).isFalse();
    assertThat(stubborn.exitValue()).isEqualTo(KILLED);
    assertThat(polite.exitValue())
        .as("asked before the stubborn one's grace ran out, it ended on SIGTERM")
        .isEqualTo(TERMINATED);
  }
}
