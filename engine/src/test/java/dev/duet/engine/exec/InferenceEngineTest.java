package dev.duet.engine.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.kv.KvCacheExhaustedException;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.RngState;
import dev.duet.engine.sampling.SamplerState;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.sampling.StopReason;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import dev.duet.engine.tensor.ComputePool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generation loop on a synthetic model: sampling, stops, KV accounting. */
class InferenceEngineTest {

  private static ComputePool pool;
  private static LlamaModel model;

  @BeforeAll
  static void load() {
    pool = new ComputePool(2);
    model = LlamaModel.load(TestModels.synthetic("tiny", GgmlType.F32), pool);
  }

  @AfterAll
  static void close() {
    model.close();
    pool.close();
  }

  private static int[] prompt(String text) {
    return model.tokenizer().encode(text, true, false);
  }

  private static List<Integer> run(InferenceEngine engine, SamplingParams params) {
    return engine.generate("r", prompt("Once upon a time"), params, 4, e -> {}).generated();
  }

  @Test
  void seededSamplingIsReproducibleAndTheSeedMatters() {
    try (InferenceEngine engine = InferenceEngine.create(model, EngineOptions.defaults())) {
      SamplingParams p =
          SamplingParams.random(1.5f, 1234, 24).withTopP(0.95f).withTopK(50).withIgnoreEos(true);
      List<Integer> first = run(engine, p);
      assertThat(run(engine, p)).isEqualTo(first);
      assertThat(run(engine, p.withSeed(99))).isNotEqualTo(first);
    }
  }

  @Test
  void restoringTheSamplerStateMidStreamContinuesWithTheSameIds() {
    try (InferenceEngine engine = InferenceEngine.create(model, EngineOptions.defaults())) {
      SamplingParams p = SamplingParams.random(1.2f, 77, 20).withIgnoreEos(true);
      List<Integer> uninterrupted = run(engine, p);

      Generation g = engine.start("g", prompt("Once upon a time"), p);
      engine.prefillAll(g, 64);
      for (int i = 0; i < 9; i++) {
        engine.decode(List.of(g));
      }
      SamplerState saved = g.samplerState();
      long[] wire = saved.rng().toLongArray();
      // Disturb the live sampler, then restore it from the serialized words.
      g.restoreSampler(
          new SamplerState(p.withSeed(5), RngState.fromLongArray(new long[] {1, 2, 3, 4})));
      g.restoreSampler(new SamplerState(saved.params(), RngState.fromLongArray(wire)));
      while (!g.finished()) {
        engine.decode(List.of(g));
      }
      assertThat(g.generated()).isEqualTo(uninterrupted);
      engine.release(g);
    }
  }

  @Test
  void stopsAtMaxTokensAndReportsLength() {
    try (InferenceEngine engine = InferenceEngine.create(model, EngineOptions.defaults())) {
      Generation g =
          engine.generate(
              "m", prompt("hello"), SamplingParams.greedy(5).withIgnoreEos(true), 8, e -> {});
      assertThat(g.generated()).hasSize(5);
      assertThat(g.stopReason()).isEqualTo(StopReason.MAX_TOKENS);
      assertThat(g.stopReason().openAiFinishReason()).isEqualTo("length");
    }
  }

  @Test
  void aStopStringEndsTheTextBeforeIt() {
    try (InferenceEngine engine = InferenceEngine.create(model, EngineOptions.defaults())) {
      SamplingParams greedy = SamplingParams.greedy(40).withIgnoreEos(true);
      String full = engine.generate("f", prompt("the cat"), greedy, 8, e -> {}).text();
      assertThat(full.length()).isGreaterThan(6);
      String stop = full.substring(3, 5);
      Generation g =
          engine.generate("s", prompt("the cat"), greedy.withStop(List.of(stop)), 8, e -> {});
      assertThat(g.stopReason()).isEqualTo(StopReason.STOP_STRING);
      assertThat(g.text()).isEqualTo(full.substring(0, full.indexOf(stop)));
    }
  }

  @Test
  void everyBlockIsFreeAfterFinishedAndCancelledGenerationsInAnyOrder() {
    try (InferenceEngine engine =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(64))) {
      SplittableRandom r = new SplittableRandom(3);
      for (int round = 0; round < 5; round++) {
        List<Generation> gens = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          int[] p = new int[1 + r.nextInt(40)];
          p[0] = 1;
          for (int j = 1; j < p.length; j++) {
            p[j] = r.nextInt(3, model.config().vocabSize());
          }
          Generation g =
              engine.start(
                  "g" + i, p, SamplingParams.greedy(1 + r.nextInt(20)).withIgnoreEos(true));
          while (engine.prefill(g, 1 + r.nextInt(16)) == null) {
            // chunked
          }
          gens.add(g);
        }
        List<Generation> running = new ArrayList<>(gens);
        running.removeIf(Generation::finished);
        while (!running.isEmpty()) {
          engine.decode(running);
          if (r.nextInt(4) == 0) {
            engine.cancel(running.get(r.nextInt(running.size())));
          }
          running.removeIf(g -> g.finished());
        }
        Collections.shuffle(gens, new java.util.Random(round));
        gens.forEach(engine::release);
        assertThat(engine.cache().freeBlocks()).isEqualTo(engine.cache().totalBlocks());
        assertThat(engine.cache().usedBlocks()).isZero();
      }
    }
  }

  @Test
  void aModelWithTiedEmbeddingsUsesTheEmbeddingAsItsOutputHead(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("tied.gguf");
    SyntheticModelWriter.write(
        SyntheticModel.preset("tiny").withTiedEmbeddings(true), 9, GgmlType.Q4_0, file);
    try (LlamaModel tied = LlamaModel.load(file, pool);
        InferenceEngine engine = InferenceEngine.create(tied, EngineOptions.defaults())) {
      assertThat(tied.weights().output()).isSameAs(tied.weights().tokenEmbedding());
      Generation g =
          engine.generate(
              "t",
              new int[] {1, 300, 301},
              SamplingParams.greedy(6).withIgnoreEos(true),
              2,
              e -> {});
      assertThat(g.generated()).hasSize(6);
    }
  }

  @Test
  void aPromptThatDoesNotFitTheCacheFailsClearlyAndLeaksNothing() {
    try (InferenceEngine engine =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(2))) {
      int[] p = new int[40];
      java.util.Arrays.fill(p, 5);
      Generation g = engine.start("big", p, SamplingParams.greedy(4));
      assertThatThrownBy(() -> engine.prefill(g, 64))
          .isInstanceOf(KvCacheExhaustedException.class)
          .hasMessageContaining("need 3 blocks");
      engine.release(g);
      assertThat(engine.cache().freeBlocks()).isEqualTo(2);
    }
  }
}
