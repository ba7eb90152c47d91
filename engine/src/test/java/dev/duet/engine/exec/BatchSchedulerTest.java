package dev.duet.engine.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.sampling.StopReason;
import dev.duet.engine.tensor.ComputePool;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Requests served together by the scheduler (joining and leaving at random steps, prompts chunked
 * across passes) produce exactly what each produces alone, and every block comes back.
 */
class BatchSchedulerTest {

  private static ComputePool pool;
  private static LlamaModel model;

  @BeforeAll
  static void load() {
    pool = new ComputePool(2);
    model = LlamaModel.load(TestModels.synthetic("gqa", GgmlType.F32), pool);
  }

  @AfterAll
  static void close() {
    model.close();
    pool.close();
  }

  private record Request(String id, int[] prompt, SamplingParams params) {}

  private record Result(List<Integer> ids, String text, StopReason reason) {}

  private static List<Request> requests(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int vocab = model.config().vocabSize();
    List<Request> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int[] prompt = new int[2 + r.nextInt(90)];
      prompt[0] = 1;
      for (int j = 1; j < prompt.length; j++) {
        prompt[j] = 3 + r.nextInt(vocab - 3);
      }
      int max = 1 + r.nextInt(20);
      SamplingParams p =
          switch (i % 3) {
            case 0 -> SamplingParams.greedy(max);
            case 1 -> SamplingParams.random(0.8f, 100 + i, max);
            default -> SamplingParams.random(1.1f, 7 * i, max).withTopK(40).withIgnoreEos(true);
          };
      out.add(new Request("r" + i, prompt, p));
    }
    return out;
  }

  @Test
  void requestsJoiningAndLeavingEveryStepGetTheTokensTheyGetAlone() {
    List<Request> reqs = requests(20, 5);
    Map<String, Result> alone = new HashMap<>();
    try (InferenceEngine e =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(64))) {
      for (Request q : reqs) {
        Generation g = e.generate(q.id(), q.prompt(), q.params(), 1000, ev -> {});
        alone.put(q.id(), new Result(g.generated(), g.text(), g.stopReason()));
      }
    }
    // A small pool and budget, so admission waits for blocks and prompts span several passes.
    try (InferenceEngine e =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(24))) {
      BatchScheduler s = new BatchScheduler(e, new BatchScheduler.Options(24, 6, 100));
      Map<String, Result> served = new HashMap<>();
      Map<String, StringBuilder> streamed = new HashMap<>();
      SplittableRandom r = new SplittableRandom(9);
      int next = 0;
      int steps = 0;
      while (next < reqs.size() || s.hasWork()) {
        for (int k = r.nextInt(3); k > 0 && next < reqs.size(); k--) {
          Request q = reqs.get(next++);
          streamed.put(q.id(), new StringBuilder());
          assertThat(
                  s.submit(
                      q.id(),
                      q.prompt(),
                      q.params(),
                      ev -> {
                        streamed.get(q.id()).append(ev.text());
                        if (ev.finished()) {
                          Generation g = ev.generation();
                          served.put(g.id(), new Result(g.generated(), g.text(), g.stopReason()));
                        }
                      }))
              .isTrue();
        }
        s.step();
        assertThat(e.cache().usedBlocks()).isLessThanOrEqualTo(24);
        steps++;
      }
      assertThat(served).isEqualTo(alone);
      for (Request q : reqs) {
        assertThat(streamed.get(q.id()).toString()).isEqualTo(alone.get(q.id()).text());
      }
      assertThat(e.cache().usedBlocks()).isZero();
      assertThat(steps).isLessThan(reqs.stream().mapToInt(q -> q.params().maxTokens() + 5).sum());
    }
  }

  @Test
  void aFullQueueRefusesAndCancelFreesEverything() {
    try (InferenceEngine e =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(16))) {
      BatchScheduler s = new BatchScheduler(e, new BatchScheduler.Options(8, 1, 2));
      List<TokenEvent> events = new ArrayList<>();
      int[] prompt = {1, 20, 30, 40};
      SamplingParams p = SamplingParams.greedy(50).withIgnoreEos(true);
      assertThat(s.submit("a", prompt, p, events::add)).isTrue();
      assertThat(s.submit("b", prompt, p, events::add)).isTrue();
      assertThat(s.submit("c", prompt, p, events::add)).as("queue of 2 is full").isFalse();
      s.step(); // admits a (maxRunning 1), prefills it
      assertThat(s.running()).isEqualTo(1);
      assertThat(s.queued()).isEqualTo(1);
      s.step();
      assertThat(s.cancel("a")).isTrue();
      assertThat(s.cancel("b")).isTrue();
      assertThat(s.cancel("zzz")).isFalse();
      assertThat(events.getLast().finished()).isTrue();
      assertThat(events.stream().filter(TokenEvent::finished).map(ev -> ev.generation().id()))
          .containsExactly("a", "b");
      assertThat(
              events.stream().filter(TokenEvent::finished).map(ev -> ev.generation().stopReason()))
          .containsOnly(StopReason.CANCELLED);
      assertThat(e.cache().usedBlocks()).isZero();
      assertThat(s.hasWork()).isFalse();
      assertThatThrownBy(() -> s.submit("huge", prompt, SamplingParams.greedy(400), ev -> {}))
          .hasMessageContaining("KV blocks");
    }
  }

  @Test
  void failingEveryRequestEndsThemWithErrorAndFreesTheirBlocks() {
    try (InferenceEngine e =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(16))) {
      BatchScheduler s = new BatchScheduler(e, new BatchScheduler.Options(8, 1, 4));
      List<TokenEvent> events = new ArrayList<>();
      SamplingParams p = SamplingParams.greedy(50).withIgnoreEos(true);
      s.submit("a", new int[] {1, 2, 3}, p, events::add);
      s.submit("b", new int[] {1, 2, 3}, p, events::add);
      s.step();
      s.failAll();
      assertThat(
              events.stream().filter(TokenEvent::finished).map(ev -> ev.generation().stopReason()))
          .containsExactly(StopReason.ERROR, StopReason.ERROR);
      assertThat(e.cache().usedBlocks()).isZero();
      assertThat(s.hasWork()).isFalse();
    }
  }

  @Test
  void aPausedRequestSkipsStepsAndStillGetsItsSoloTokens() {
    int[] prompt = {1, 40, 41, 42, 43};
    SamplingParams p = SamplingParams.random(0.9f, 11, 12).withIgnoreEos(true);
    List<Integer> solo;
    try (InferenceEngine e =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(16))) {
      solo = e.generate("solo", prompt, p, 64, ev -> {}).generated();
    }
    try (InferenceEngine e =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(32))) {
      BatchScheduler s = new BatchScheduler(e, new BatchScheduler.Options(32, 4, 4));
      List<Integer> slow = new ArrayList<>();
      List<Integer> other = new ArrayList<>();
      s.submit("slow", prompt, p, ev -> slow.add(ev.token()));
      s.submit("other", prompt, p.withSeed(12), ev -> other.add(ev.token()));
      s.step();
      s.step();
      s.setPaused("slow", true);
      int before = slow.size();
      for (int i = 0; i < 5; i++) {
        s.step();
      }
      assertThat(slow).hasSize(before);
      assertThat(other.size()).isGreaterThan(before);
      s.setPaused("slow", false);
      while (s.hasWork()) {
        s.step();
      }
      assertThat(slow).isEqualTo(solo);
      assertThat(e.cache().usedBlocks()).isZero();
    }
  }
}
