package dev.duet.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.engine.exec.BatchScheduler;
import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.sim.LatencyProfile;
import dev.duet.engine.sim.SimModel;
import dev.duet.engine.sim.SimProfiles;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.submit(
            "r" + i,
            prompt,
            SamplingParams.greedy(1),
            0,
            ev -> {
              if (ev.finished()) {
                done.complete(null);
              }
            });
        done.get(10, TimeUnit.SECONDS);
      }
      double fullPass = 1000.0 * budget / profile.prefillMs(budget);
      // the sim's own CPU work and wake-ups make its passes a little late, never early
      assertThat(loop.load().prefillTokensPerS()).isBetween(0.8 * fullPass, 1.1 * fullPass);
      assertThat(loop.load().prefillStepPerTokenMs()).isPositive();
    }
  }
}
