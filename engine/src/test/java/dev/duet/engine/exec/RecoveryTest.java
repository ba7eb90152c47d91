package dev.duet.engine.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.Sampler;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.tensor.ComputePool;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A request whose instance died is recovered from its ids alone: the prompt, the tokens its client
 * got and the sampler state rebuilt from the seed ({@link Sampler#stateAfter}). The new instance
 * recomputes the KV in prefill chunks and continues with exactly the events the request would have
 * had, batched with other requests.
 */
class RecoveryTest {

  private record Event(int token, String text, boolean finished) {}

  private static List<Event> run(BatchScheduler s, String id, int[] prompt, SamplingParams p) {
    List<Event> events = new ArrayList<>();
    assertThat(s.submit(id, prompt, p, e -> events.add(event(e)))).isTrue();
    while (s.step()) {}
    return events;
  }

  private static Event event(TokenEvent e) {
    return new Event(e.token(), e.text(), e.finished());
  }

  @Test
  void aRecoveredRequestContinuesWithExactlyTheEventsItWouldHaveHad() {
    try (ComputePool pool = new ComputePool(2);
        LlamaModel model = LlamaModel.load(TestModels.synthetic("gqa", GgmlType.F32), pool);
        InferenceEngine e = InferenceEngine.create(model, EngineOptions.defaults())) {
      BatchScheduler s = new BatchScheduler(e, new BatchScheduler.Options(24, 8, 8));
      SplittableRandom r = new SplittableRandom(5);
      int vocab = model.config().vocabSize();
      int[] prompt = new int[30];
      prompt[0] = 1;
      for (int i = 1; i < prompt.length; i++) {
        prompt[i] = 3 + r.nextInt(vocab - 3);
      }
      for (SamplingParams p :
          List.of(
              SamplingParams.greedy(20).withIgnoreEos(true),
              SamplingParams.random(0.9f, 77, 20).withIgnoreEos(true),
              SamplingParams.random(1.1f, 5, 20).withTopK(12).withTopP(0.9f))) {
        List<Event> alone = run(s, "alone", prompt, p);
        int[] ids = alone.stream().filter(ev -> ev.token() >= 0).mapToInt(Event::token).toArray();
        for (int k : new int[] {1, 2, 7, ids.length - 1}) {
          GenerationSnapshot snap =
              new GenerationSnapshot(
                  "rec", prompt, p, Sampler.stateAfter(p, k), Arrays.copyOf(ids, k));
          List<Event> rest = new ArrayList<>();
          // A neighbour decodes in the same steps, so recompute chunks share passes with it.
          List<Event> other = new ArrayList<>();
          assertThat(s.submit("other", new int[] {1, 9, 8, 7}, p, x -> other.add(event(x))))
              .isTrue();
          assertThat(s.submitRecovered(snap, x -> rest.add(event(x)))).isTrue();
          while (s.step()) {}
          assertThat(rest).as("%s after %d tokens", p, k).isEqualTo(alone.subList(k, alone.size()));
          assertThat(other).isNotEmpty();
        }
      }
      assertThat(e.cache().usedBlocks()).isZero();
    }
  }

  @Test
  void aSnapshotThatAlreadyEndsTheRequestIsRefused() {
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(TestModels.synthetic("tiny", GgmlType.F32), pool);
        InferenceEngine e = InferenceEngine.create(model, EngineOptions.defaults())) {
      SamplingParams p = SamplingParams.greedy(2).withIgnoreEos(true);
      GenerationSnapshot done =
          new GenerationSnapshot(
              "x", new int[] {1, 4}, p, Sampler.stateAfter(p, 2), new int[] {5, 6});
      assertThatThrownBy(() -> e.recover(done)).hasMessageContaining("already end");
    }
  }
}
