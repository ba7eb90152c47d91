package dev.duet.worker;

import dev.duet.engine.exec.BatchScheduler;
import dev.duet.engine.exec.GenerationSnapshot;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.exec.TokenEvent;
import dev.duet.engine.kv.KvSequence;
import dev.duet.engine.sampling.SamplingParams;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's one engine thread: it owns the {@link BatchScheduler} and runs a forward pass
 * whenever there is work, taking submissions and cancellations from other threads through a command
 * queue between passes. Token listeners run on this thread and must hand off quickly (the HTTP
 * layer posts each event to its event loop).
 *
 * <p>Threading: {@link #submit}, {@link #cancel}, {@link #load()} and {@link #close()} may be
 * called from any thread.
 */
public final class StepLoop implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(StepLoop.class);

  /**
   * What the loop is doing, for heartbeats and metrics.
   *
   * @param queued requests waiting for admission
   * @param running requests admitted
   * @param freeKvBlocks KV blocks free in the engine's pool
   * @param steps forward passes run so far
   * @param tokens tokens generated so far
   * @param pendingPromptTokens prompt tokens queued or prefilling, not yet computed
   * @param prefillTokensPerS prefill capacity: prompt tokens per second in passes of a full token
   *     budget, from the fitted prefill pass time (a loaded instance packs its passes so); until
   *     that fit has told the fixed part from the tokens', the measured rate (moving average; 0
   *     until {@link #MIN_RATE_PASSES} passes are measured)
   * @param decodeTokensPerS measured decode rate (moving average; 0 until {@link #MIN_RATE_PASSES}
   *     passes are measured)
   * @param reserved requests whose KV blocks are reserved and whose snapshot has not arrived
   * @param decodeStepFixedMs a pure decode pass's fixed time ({@link PassTimeFit}; 0 until known)
   * @param decodeStepPerRowMs what each decode row adds to a pass, ms (0 until measured)
   * @param prefillStepFixedMs a pure prefill pass's fixed time ({@link PassTimeFit}; 0 until known)
   * @param prefillStepPerTokenMs what each prompt token adds to a prefill pass, ms (0 until known)
   */
  public record Load(
      int queued,
      int running,
      int freeKvBlocks,
      long steps,
      long tokens,
      long pendingPromptTokens,
      double prefillTokensPerS,
      double decodeTokensPerS,
      int reserved,
      double decodeStepFixedMs,
      double decodeStepPerRowMs,
      double prefillStepFixedMs,
      double prefillStepPerTokenMs) {}

  /**
   * Weight of the newest step in the moving averages of the rates; the first {@code 1 / EWMA} steps
   * are averaged alike (the first pass of a fresh JVM runs cold and opens the first KV channel:
   * seeding the average with it read one instance's prefill rate as 484 tok/s against its peers'
   * 7,000, and kept it there).
   */
  private static final double EWMA = 0.2;

  /**
   * Passes a rate must have seen before it is reported or refuses a request: fewer say more about a
   * cold start than about the instance.
   */
  static final int MIN_RATE_PASSES = 4;

  private final InferenceEngine engine;
  private final BatchScheduler scheduler;
  private final LinkedBlockingQueue<Runnable> commands = new LinkedBlockingQueue<>();
  private final Thread thread;
  private volatile Load load;
  private volatile boolean closed;
  private long steps;
  private long tokens;
  private final Rate prefillRate = new Rate();
  private final Rate decodeRate = new Rate();
  private final PassTimeFit decodeStep = new PassTimeFit();
  private final PassTimeFit prefillStep = new PassTimeFit();
  private final int tokenBudget;

  public StepLoop(InferenceEngine engine, BatchScheduler.Options options) {
    this.engine = engine;
    this.scheduler = new BatchScheduler(engine, options);
    this.tokenBudget = options.tokenBudget();
    this.load = new Load(0, 0, engine.cache().freeBlocks(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    this.thread = Thread.ofPlatform().name("duet-step-loop").daemon(true).unstarted(this::run);
    thread.start();
  }

  /**
   * Offers a request. Refuses it at once when the queue is full, or when {@code ttftBudgetNanos >
   * 0}, prompt tokens are already waiting here, and that backlog plus its own prompt at the
   * measured prefill rate would take longer than that (an instance with nothing ahead takes the
   * prompt whatever its estimate says); completes exceptionally for a bad request (e.g. a prompt
   * longer than the context).
   */
  public CompletableFuture<Admission> submit(
      String id,
      int[] prompt,
      SamplingParams params,
      long ttftBudgetNanos,
      Consumer<TokenEvent> listener) {
    return submit(id, prompt, params, ttftBudgetNanos, (BatchScheduler.Handoff) null, listener);
  }

  /**
   * {@link #submit} for a prefill instance: at the first token {@code handoff} runs on this thread
   * (it copies the KV out and takes the snapshot), then the request leaves this instance.
   */
  public CompletableFuture<Admission> submit(
      String id,
      int[] prompt,
      SamplingParams params,
      long ttftBudgetNanos,
      BatchScheduler.Handoff handoff,
      Consumer<TokenEvent> listener) {
    CompletableFuture<Admission> accepted = new CompletableFuture<>();
    command(
        () -> {
          try {
            long ahead = scheduler.pendingPromptTokens();
            // Nothing ahead: the prompt starts at the next pass, and refusing it only helps if a
            // peer is faster, which an idle instance's estimate is the least fit to say. (Refusing
            // there is also how a bad estimate would last: no pass, no new measurement.)
            if (ttftBudgetNanos > 0 && ahead > 0 && prefillCapacity() > 0) {
              double waitS = prefillSeconds(ahead + prompt.length);
              if (waitS * 1e9 > ttftBudgetNanos) {
                accepted.complete(Admission.TTFT_BUDGET);
                return;
              }
            }
            boolean queued =
                handoff == null
                    ? scheduler.submit(id, prompt, params, counting(listener))
                    : scheduler.submitHandoff(id, prompt, params, handoff, counting(listener));
            accepted.complete(queued ? Admission.ACCEPTED : Admission.QUEUE_FULL);
          } catch (RuntimeException e) {
            accepted.completeExceptionally(e);
          }
        },
        accepted);
    return accepted;
  }

  /** Reserves blocks for a request that will arrive as a snapshot; null when they do not fit. */
  public CompletableFuture<KvSequence> reserve(String id, int tokens) {
    CompletableFuture<KvSequence> done = new CompletableFuture<>();
    command(
        () -> {
          try {
            done.complete(scheduler.reserve(id, tokens));
          } catch (RuntimeException e) {
            done.completeExceptionally(e);
          }
        },
        done);
    return done;
  }

  /** Continues a request from its snapshot (its KV already written into its reserved blocks). */
  public CompletableFuture<Void> resume(GenerationSnapshot s, Consumer<TokenEvent> listener) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    command(
        () -> {
          try {
            scheduler.submitResumed(s, counting(listener));
            done.complete(null);
          } catch (RuntimeException e) {
            done.completeExceptionally(e);
          }
        },
        done);
    return done;
  }

  /**
   * Continues a request whose instance failed, from its ids (see {@link
   * BatchScheduler#submitRecovered}): queued like a new prompt, without a TTFT budget (it is late
   * already); {@code QUEUE_FULL} when the queue is full.
   */
  public CompletableFuture<Admission> recover(GenerationSnapshot s, Consumer<TokenEvent> listener) {
    return call(
        scheduler ->
            scheduler.submitRecovered(s, counting(listener))
                ? Admission.ACCEPTED
                : Admission.QUEUE_FULL);
  }

  /** {@code listener}, counting each generated token (its events come on the step thread). */
  private Consumer<TokenEvent> counting(Consumer<TokenEvent> listener) {
    return ev -> {
      if (ev.token() >= 0) {
        tokens++;
      }
      listener.accept(ev);
    };
  }

  /**
   * Runs {@code f} on the step thread between two passes (the only thread that may touch the
   * scheduler) and completes with its result.
   */
  <T> CompletableFuture<T> call(java.util.function.Function<BatchScheduler, T> f) {
    CompletableFuture<T> done = new CompletableFuture<>();
    command(
        () -> {
          try {
            done.complete(f.apply(scheduler));
          } catch (RuntimeException e) {
            done.completeExceptionally(e);
          }
        },
        done);
    return done;
  }

  /** Counts the requests held here, on the step thread (for a role flip). */
  CompletableFuture<WorkerRole.Held> held() {
    return call(s -> new WorkerRole.Held(s.queued(), s.running(), s.reserved()));
  }

  /** Pauses or resumes a request's decoding (its client is slower than generation). */
  public void setPaused(String id, boolean pause) {
    command(() -> scheduler.setPaused(id, pause), null);
  }

  /** Cancels a request if it is still queued or running; its listener gets a last event. */
  public void cancel(String id) {
    command(() -> scheduler.cancel(id), null);
  }

  public Load load() {
    return load;
  }

  /**
   * Tokens generated so far, read on the step thread: it counts every token already given to a
   * listener, which {@link #load()} (published after the pass) may not yet.
   */
  public CompletableFuture<Long> generatedTokens() {
    return call(s -> tokens);
  }

  private void command(Runnable r, CompletableFuture<?> onClosed) {
    if (closed) {
      if (onClosed != null) {
        onClosed.completeExceptionally(new IllegalStateException("the worker is shutting down"));
      }
      return;
    }
    commands.add(r);
  }

  private void run() {
    while (!closed) {
      try {
        Runnable c =
            scheduler.hasWork() ? commands.poll() : commands.poll(100, TimeUnit.MILLISECONDS);
        boolean changed = c != null;
        while (c != null) {
          c.run();
          c = commands.poll();
        }
        if (changed) {
          publishLoad(); // what the pass about to run holds (a prefill pass may take long)
        }
        long t0 = System.nanoTime();
        if (scheduler.step()) {
          steps++;
          measure(System.nanoTime() - t0);
        }
        publishLoad();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        LOG.error("step loop: a forward pass failed; failing the running requests", e);
        scheduler.failAll();
      }
    }
  }

  private void publishLoad() {
    load =
        new Load(
            scheduler.queued(),
            scheduler.running(),
            engine.cache().freeBlocks(),
            steps,
            tokens,
            scheduler.pendingPromptTokens(),
            prefillCapacity(),
            decodeRate.known(),
            scheduler.reserved(),
            decodeStep.fixedMs(),
            decodeStep.perUnitMs(),
            prefillStep.fixedMs(),
            prefillStep.perUnitMs());
  }

  /** See {@link Load#prefillTokensPerS}. */
  private double prefillCapacity() {
    if (prefillStep.separated()) {
      return 1000.0 * tokenBudget / prefillStep.ms(tokenBudget);
    }
    return prefillRate.known();
  }

  /**
   * How long {@code tokens} prompt tokens take to prefill here: from the fitted prefill pass time,
   * a pass per token budget's worth (a short prompt pays the fixed part of a pass as a long one
   * does, so tokens/s measured on whatever came last misjudges the next), else at the measured
   * rate.
   */
  private double prefillSeconds(long tokens) {
    if (prefillStep.separated()) {
      long passes = Math.max(1, (tokens + tokenBudget - 1) / tokenBudget);
      return (passes * prefillStep.fixedMs() + tokens * prefillStep.perUnitMs()) / 1000;
    }
    return tokens / prefillRate.known();
  }

  /**
   * Updates the rate estimates from one step: a step's time is split between its prefill tokens and
   * decode rows in proportion to their counts (one forward pass serves both).
   */
  private void measure(long nanos) {
    int p = scheduler.lastPrefillTokens();
    int d = scheduler.lastDecodeRows();
    double seconds = nanos / 1e9;
    if (p > 0 && d == 0) {
      prefillStep.add(p, nanos / 1e6);
    }
    if (p > 0) {
      prefillRate.add(p / (seconds * p / (p + d)));
    }
    if (d > 0 && p == 0) {
      decodeStep.add(d, nanos / 1e6);
    }
    if (d > 0) {
      decodeRate.add(d / (seconds * d / (p + d)));
    }
  }

  /**
   * A per-pass rate's moving average: plain over the first {@code 1 / EWMA} passes, then {@link
   * #EWMA}-weighted. Step-loop thread only.
   */
  private static final class Rate {
    private double value;
    private long passes;

    void add(double sample) {
      double w = Math.max(EWMA, 1.0 / ++passes);
      value = (1 - w) * value + w * sample;
    }

    /** The average once {@link #MIN_RATE_PASSES} passes are in, else 0 (not measured). */
    double known() {
      return passes >= MIN_RATE_PASSES ? value : 0;
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
