package dev.duet.cli.load;

import java.net.URI;
import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Plays a {@link TidalDay} against a running cluster, open loop: each request on its own virtual
 * thread at its arrival time, streamed and timed ({@link Completion}). Thread-safe: days may be
 * played at once (back to back, the next starting while the last has requests in flight).
 */
public final class TidalLoad {

  /**
   * One request of the day.
   *
   * @param atS its arrival, seconds into the day
   * @param ok whether it completed
   * @param ttftMs time to first token (NaN if it failed)
   * @param tpotMs time per output token after the first (NaN if it failed)
   * @param failure why it failed, empty if it completed
   */
  public record Request(
      double atS,
      int promptTokens,
      int outputTokens,
      boolean ok,
      double ttftMs,
      double tpotMs,
      String failure) {

    /** Whether it completed within both SLOs. */
    public boolean good(double sloTtftMs, double sloTpotMs) {
      return ok && ttftMs <= sloTtftMs && tpotMs <= sloTpotMs;
    }
  }

  private final URI base;
  private final String model;
  private final int context;
  private final HttpClient http = HttpClient.newHttpClient();

  public TidalLoad(URI base, String model, int context) {
    this.base = base;
    this.model = model;
    this.context = context;
  }

  /** Sends the day's requests from now, waits for the last, and returns them in arrival order. */
  public List<Request> run(TidalDay day, long seed) throws InterruptedException {
    return run(day, seed, System.nanoTime());
  }

  /**
   * Sends the day's requests with the day starting at {@code start} ({@link System#nanoTime()};
   * waits for it when it is ahead), waits for the last, and returns them in arrival order. Days
   * played back to back start a period apart, whatever the previous day still has in flight, as
   * days in service do: a seasonal predictor's phase then stays aligned with the traffic's.
   */
  public List<Request> run(TidalDay day, long seed, long start) throws InterruptedException {
    SplittableRandom random = new SplittableRandom(seed);
    ConcurrentLinkedQueue<Request> done = new ConcurrentLinkedQueue<>();
    double t = day.nextGap(0, random);
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      while (t < day.daySeconds()) {
        long wait = start + (long) (t * 1e9) - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        Workload.Shape shape = day.sample(t, random, context);
        int[] prompt = new int[shape.promptTokens()];
        for (int i = 0; i < prompt.length; i++) {
          prompt[i] = 3 + random.nextInt(250);
        }
        double at = t;
        threads.submit(
            () -> {
              Completion.Outcome o =
                  Completion.send(http, base, model, prompt, shape.outputTokens());
              Optional<Completion.Timing> r = o.timing();
              done.add(
                  new Request(
                      at,
                      prompt.length,
                      shape.outputTokens(),
                      o.ok(),
                      r.map(Completion.Timing::ttftMs).orElse(Double.NaN),
                      r.map(Completion.Timing::tpotMs).orElse(Double.NaN),
                      o.failure()));
            });
        t += day.nextGap(t, random);
      }
    }
    List<Request> all = new ArrayList<>(done);
    all.sort(java.util.Comparator.comparingDouble(Request::atS));
    return all;
  }
}
