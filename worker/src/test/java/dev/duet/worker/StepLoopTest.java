package dev.duet.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.engine.exec.BatchScheduler;
import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.model.BatchRow;
import dev.duet.engine.model.LlamaConfig;
import dev.duet.engine.model.Model;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.sim.LatencyProfile;
import dev.duet.engine.sim.SimModel;
import dev.duet.engine.sim.SimProfiles;
import dev.duet.engine.tokenizer.Tokenizer;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The step loop's measurements on an emulated GPU whose pass times are known. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StepLoopTest {

  @Test
  void prefillCapacityIsTheFullPassRateOfTheFittedPassTimeWhateverThePromptsLengths()
      throws Exception {
    LatencyProfile profile = SimProfiles.named("h100-llama3-8b");
    int budget = 2048;
    try (SimModel model = SimModel.create(profile, 64, 1);
        InferenceEngine engine =
            InferenceEngine.create(
                model, EngineOptions.defaults().withKvBlocks(2048).withKvDtype(model.kvDtype()));
        StepLoop loop = new StepLoop(engine, new BatchScheduler.Options(budget, 8, 64))) {
      // one prompt at a time, long and short by turns (the last short), 20 to 2000 tokens: a
      // pass's rate runs from ~2,500 to ~30,000 tokens/s, and the rate averaged over the last
      // passes (what the loop reported before it fitted pass times: ~18,000) says little
      var random = new SplittableRandom(5);
      for (int i = 0; i < 40; i++) {
        int length = i % 2 == 1 ? 20 + random.nextInt(80) : 800 + random.nextInt(1200);
        int[] prompt = new int[length];
        for (int k = 0; k < length; k++) {
          prompt[k] = 5 + random.nextInt(1000);
        }
        assertThat(run(loop, "r" + i, prompt, 0)).isEqualTo(Admission.ACCEPTED);
      }
      double fullPass = 1000.0 * budget / profile.prefillMs(budget);
      // the sim's own CPU work and wake-ups make its passes a little late, never early
      assertThat(loop.load().prefillTokensPerS()).isBetween(0.8 * fullPass, 1.1 * fullPass);
      assertThat(loop.load().prefillStepPerTokenMs()).isPositive();
    }
  }

  @Test
  void anIdleInstanceTakesAPromptWhateverItsColdStartMeasuredAndItsRateRecovers() throws Exception {
    LatencyProfile profile = SimProfiles.named("h100-llama3-8b");
    int budget = 2048;
    try (SimModel sim = SimModel.create(profile, 64, 1);
        var cold = new ColdStart(sim, 5, 300);
        InferenceEngine engine =
            InferenceEngine.create(
                cold, EngineOptions.defaults().withKvBlocks(2048).withKvDtype(sim.kvDtype()));
        StepLoop loop = new StepLoop(engine, new BatchScheduler.Options(budget, 8, 64))) {
      // five cold passes of 100 tokens at 300 ms each: the rate reads ~330 tokens/s, at which a
      // 2000-token prompt would take 6 s; it runs in ~60 ms
      for (int i = 0; i < 5; i++) {
        assertThat(run(loop, "cold" + i, prompt(100), 0)).isEqualTo(Admission.ACCEPTED);
      }
      double coldRate = loop.load().prefillTokensPerS();
      assertThat(coldRate).isBetween(100.0, 1000.0);
      // before: refused on that estimate, so it never ran another pass to correct it
      assertThat(run(loop, "idle", prompt(2000), TimeUnit.SECONDS.toNanos(1)))
          .isEqualTo(Admission.ACCEPTED);
      for (int i = 0; i < 20; i++) {
        run(loop, "warm" + i, prompt(2000), 0);
      }
      assertThat(loop.load().prefillTokensPerS()).isGreaterThan(10 * coldRate);
      // with a prompt ahead, the estimate still refuses what would miss the budget: one 2000-token
      // pass takes ~60 ms, so the second of two submitted together cannot start within 50 ms.
      // The step thread waits at a gate until both are queued: else it may run a's whole pass
      // before b arrives (a slow CI machine did), and b would rightly find nothing ahead
      var gate = new CountDownLatch(1);
      var gated = loop.call(s -> await(gate));
      var first = new CompletableFuture<Void>();
      var a = loop.submit("a", prompt(2000), SamplingParams.greedy(1), ms(50), finished(first));
      var b = loop.submit("b", prompt(2000), SamplingParams.greedy(1), ms(50), ev -> {});
      gate.countDown();
      assertThat(gated.get(10, TimeUnit.SECONDS)).isTrue();
      assertThat(a.get(10, TimeUnit.SECONDS)).isEqualTo(Admission.ACCEPTED);
      assertThat(b.get(10, TimeUnit.SECONDS)).isEqualTo(Admission.TTFT_BUDGET);
      first.get(10, TimeUnit.SECONDS);
    }
  }

  private static boolean await(CountDownLatch gate) {
    try {
      return gate.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static long ms(long millis) {
    return TimeUnit.MILLISECONDS.toNanos(millis);
  }

  /** Submits {@code prompt} for one token and waits for it to finish if accepted. */
  private static Admission run(StepLoop loop, String id, int[] prompt, long budgetNanos)
      throws Exception {
    var done = new CompletableFuture<Void>();
    Admission a =
        loop.submit(id, prompt, SamplingParams.greedy(1), budgetNanos, finished(done))
            .get(10, TimeUnit.SECONDS);
    if (a == Admission.ACCEPTED) {
      done.get(10, TimeUnit.SECONDS);
    }
    return a;
  }

  private static java.util.function.Consumer<dev.duet.engine.exec.TokenEvent> finished(
      CompletableFuture<Void> done) {
    return ev -> {
      if (ev.finished()) {
        done.complete(null);
      }
    };
  }

  private static int[] prompt(int length) {
    int[] p = new int[length];
    for (int k = 0; k < length; k++) {
      p[k] = 5 + k % 1000;
    }
    return p;
  }

  /** A model whose first passes are slow, as a fresh JVM's are. */
  private static final class ColdStart implements Model {
    private final Model inner;
    private int coldLeft;
    private final long coldMs;

    ColdStart(Model inner, int coldPasses, long coldMs) {
      this.inner = inner;
      this.coldLeft = coldPasses;
      this.coldMs = coldMs;
    }

    @Override
    public LlamaConfig config() {
      return inner.config();
    }

    @Override
    public Tokenizer tokenizer() {
      return inner.tokenizer();
    }

    @Override
    public Optional<String> chatTemplateSource() {
      return inner.chatTemplateSource();
    }

    @Override
    public String source() {
      return inner.source();
    }

    @Override
    public KvDtype kvDtype() {
      return inner.kvDtype();
    }

    @Override
    public float[][] forward(List<BatchRow> rows, KvCachePool cache, IntConsumer layerStored) {
      if (coldLeft > 0) {
        coldLeft--;
        try {
          Thread.sleep(coldMs);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return inner.forward(rows, cache, layerStored);
    }

    @Override
    public void close() {}
  }
}
