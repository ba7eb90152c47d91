package dev.duet.controller.tidal;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A compressed tide sent to a cluster's {@code /v1/completions}: phases of seeded Poisson arrivals,
 * each with its own rate and ranges of prompt words and output tokens, every request seeded (so a
 * replay gives the same tokens) and non-streaming. The schedule is fixed by the seed before the
 * first send; {@link #run} sends on time from the calling thread and returns the requests with
 * their pending answers.
 *
 * <p>Threading: {@link #run} blocks its caller for the length of the tide; the answers complete on
 * the HTTP client's threads.
 */
final class TideLoad {

  /**
   * One phase of the tide.
   *
   * @param name for logs and assertions
   * @param seconds its length
   * @param ratePerS mean arrivals per second (Poisson)
   * @param minWords shortest prompt, in words
   * @param maxWords longest prompt, in words (inclusive)
   * @param minOutput fewest output tokens
   * @param maxOutput most output tokens (inclusive)
   */
  record Phase(
      String name,
      double seconds,
      double ratePerS,
      int minWords,
      int maxWords,
      int minOutput,
      int maxOutput) {
    Phase {
      if (seconds <= 0 || ratePerS <= 0 || minWords < 1 || maxWords < minWords) {
        throw new IllegalArgumentException("bad phase " + name);
      }
      if (minOutput < 1 || maxOutput < minOutput) {
        throw new IllegalArgumentException("bad output range in phase " + name);
      }
    }
  }

  /**
   * One request of the tide.
   *
   * @param n its index (and its sampling seed)
   * @param phase the phase it belongs to
   * @param atMillis when it is due, ms after the tide's start
   * @param maxTokens the output tokens it asks for (and must get: the sim never stops early)
   * @param body the JSON request
   */
  record Request(int n, Phase phase, long atMillis, int maxTokens, String body) {}

  /** A request as sent: when it went, and its answer (with when it came). */
  record Sent(Request request, long sentMillis, CompletableFuture<Answer> answer) {}

  /** An answer and when it came, ms after the tide's start. */
  record Answer(HttpResponse<String> response, long doneMillis) {}

  private static final String[] WORDS = {
    "river", "tide", "moon", "harbour", "sailor", "lantern", "evening", "stone", "salt", "wind",
    "gull", "rope", "north", "quiet", "island", "morning", "anchor", "shell", "storm", "bright"
  };

  private final List<Phase> phases;
  private final List<Request> schedule = new ArrayList<>();

  TideLoad(long seed, List<Phase> phases) {
    this.phases = List.copyOf(phases);
    SplittableRandom random = new SplittableRandom(seed);
    double start = 0;
    int n = 0;
    for (Phase p : this.phases) {
      double t = start;
      while (true) {
        t += -Math.log(1 - random.nextDouble()) / p.ratePerS();
        if (t >= start + p.seconds()) {
          break;
        }
        int words = random.nextInt(p.minWords(), p.maxWords() + 1);
        int out = random.nextInt(p.minOutput(), p.maxOutput() + 1);
        schedule.add(new Request(n, p, Math.round(t * 1000), out, body(n, words, out, random)));
        n++;
      }
      start += p.seconds();
    }
  }

  private static String body(int n, int words, int maxTokens, SplittableRandom random) {
    StringBuilder prompt = new StringBuilder("Request ").append(n).append(':');
    for (int w = 0; w < words; w++) {
      prompt.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
    }
    return "{\"model\":\"sim\",\"prompt\":\""
        + prompt
        + "\",\"max_tokens\":"
        + maxTokens
        + ",\"ignore_eos\":true,\"temperature\":0.8,\"seed\":"
        + n
        + "}";
  }

  List<Phase> phases() {
    return phases;
  }

  List<Request> schedule() {
    return schedule;
  }

  /** When {@code phase} starts, ms after the tide's start. */
  long startMillis(Phase phase) {
    long at = 0;
    for (Phase p : phases) {
      if (p == phase) {
        return at;
      }
      at += Math.round(p.seconds() * 1000);
    }
    throw new IllegalArgumentException("not a phase of this tide: " + phase.name());
  }

  /** The tide's length, ms. */
  long lengthMillis() {
    return Math.round(phases.stream().mapToDouble(Phase::seconds).sum() * 1000);
  }

  /**
   * Sends every request at its time, measured from {@code startNanos} (a {@link System#nanoTime}
   * reading); returns once the last one is sent.
   */
  List<Sent> run(HttpClient http, URI completions, long startNanos) throws InterruptedException {
    List<Sent> sent = new ArrayList<>();
    for (Request r : schedule) {
      long wait = r.atMillis() - millisSince(startNanos);
      if (wait > 0) {
        Thread.sleep(wait);
      }
      long at = millisSince(startNanos);
      CompletableFuture<Answer> answer =
          http.sendAsync(
                  HttpRequest.newBuilder(completions)
                      .POST(HttpRequest.BodyPublishers.ofString(r.body()))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .thenApply(resp -> new Answer(resp, millisSince(startNanos)));
      sent.add(new Sent(r, at, answer));
    }
    return sent;
  }

  static long millisSince(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }
}
