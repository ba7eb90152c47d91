package dev.duet.engine.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.kv.KvSequence;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.sampling.StopReason;
import dev.duet.engine.tensor.ComputePool;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A generation snapshot plus its KV, copied block by block into another engine's pool, continues
 * with exactly the tokens, text and stop reason of the generation left alone: the engine side of
 * disaggregated prefill (handoff after the first token) and of live migration (handoff after any
 * step, any number of times).
 */
class HandoffTest {

  private static final int MAX_TOKENS = 24;

  /** Copies every layer of {@code src}'s blocks into {@code dst}'s, block for block. */
  static void copyKv(KvSequence src, KvSequence dst) {
    KvCachePool from = src.pool();
    KvCachePool to = dst.pool();
    int[] a = src.blockIds();
    int[] b = dst.blockIds();
    assertThat(b.length).isGreaterThanOrEqualTo((src.length() + 15) / 16);
    MemorySegment s = from.segment();
    MemorySegment d = to.segment();
    long bytes = from.layout().blockBytes();
    for (int layer = 0; layer < from.layout().numLayers(); layer++) {
      for (int i = 0; i * from.layout().blockSize() < src.length(); i++) {
        MemorySegment.copy(s, from.blockOffset(layer, a[i]), d, to.blockOffset(layer, b[i]), bytes);
      }
    }
  }

  private record Outcome(List<Integer> ids, String text, StopReason reason) {}

  private static Outcome alone(InferenceEngine e, int[] prompt, SamplingParams p) {
    Generation g = e.generate("alone", prompt, p, 7, ev -> {});
    return new Outcome(g.generated(), g.text(), g.stopReason());
  }

  /**
   * Prefills on {@code engines[0]}, then hops to the next engine after each step listed in {@code
   * hops} (0 = right after the first token), round robin.
   */
  private static Outcome hopping(
      InferenceEngine[] engines, int[] prompt, SamplingParams p, List<Integer> hops)
      throws Exception {
    int at = 0;
    Generation g = engines[0].start("hop", prompt, p);
    engines[0].prefillAll(g, 5);
    int step = 0;
    while (!g.finished()) {
      if (hops.contains(step)) {
        InferenceEngine next = engines[(++at) % engines.length];
        // Through its JSON form, as it crosses the network between instances.
        GenerationSnapshot snap =
            SnapshotJson.read(
                new ObjectMapper().readTree(SnapshotJson.write(g.snapshot()).toString()));
        assertThat(snap).isEqualTo(g.snapshot());
        Generation moved = next.resume(snap);
        copyKv(g.kv(), moved.kv());
        engines[(at - 1) % engines.length].release(g);
        g = moved;
      }
      engines[at % engines.length].decode(List.of(g));
      step++;
    }
    Outcome o = new Outcome(g.generated(), g.text(), g.stopReason());
    engines[at % engines.length].release(g);
    return o;
  }

  @ParameterizedTest
  @EnumSource(
      value = KvDtype.class,
      names = {"F32", "F16"})
  void handoffsAfterAnyStepKeepTheTokensTextAndStopReason(KvDtype dtype) throws Exception {
    try (ComputePool pool = new ComputePool(2);
        LlamaModel model = LlamaModel.load(TestModels.synthetic("gqa", GgmlType.F32), pool);
        InferenceEngine a = engine(model, dtype);
        InferenceEngine b = engine(model, dtype);
        InferenceEngine c = engine(model, dtype)) {
      // Different block ids on each engine, so a copy to the same ids would be caught.
      b.cache().newSequence().reserve(40);
      c.cache().newSequence().reserve(90);
      InferenceEngine[] engines = {a, b, c};
      SplittableRandom r = new SplittableRandom(11);
      int vocab = model.config().vocabSize();
      List<SamplingParams> params =
          List.of(
              SamplingParams.greedy(MAX_TOKENS).withIgnoreEos(true),
              SamplingParams.random(0.9f, 1234, MAX_TOKENS).withIgnoreEos(true),
              SamplingParams.random(1.2f, 99, MAX_TOKENS).withTopK(20).withTopP(0.9f));
      for (SamplingParams p : params) {
        int[] prompt = new int[3 + r.nextInt(40)];
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) {
          prompt[i] = 3 + r.nextInt(vocab - 3);
        }
        Outcome expected = alone(a, prompt, p);
        assertThat(expected.ids()).isNotEmpty();
        // A stop string from the middle of the text, so the matcher's held-back text crosses hops.
        String t = expected.text();
        SamplingParams stopping =
            t.length() > 8
                ? p.withStop(List.of(t.substring(t.length() / 2, t.length() / 2 + 3)))
                : p;
        Outcome expectedStop = alone(a, prompt, stopping);

        for (List<Integer> hops :
            List.of(List.of(0), List.of(5), List.of(0, 1, 2), List.of(3, 9, 10, 17))) {
          assertThat(hopping(engines, prompt, p, hops))
              .as("%s hops %s", p, hops)
              .isEqualTo(expected);
          assertThat(hopping(engines, prompt, stopping, hops))
              .as("%s hops %s", stopping, hops)
              .isEqualTo(expectedStop);
        }
      }
      // Every hop released its blocks.
      assertThat(a.cache().usedBlocks()).isZero();
      assertThat(b.cache().usedBlocks()).isEqualTo(3); // the 40-token decoy
      assertThat(c.cache().usedBlocks()).isEqualTo(6); // the 90-token decoy
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = KvDtype.class,
      names = {"F32"})
  void aSnapshotIsTakenOnlyBetweenTheFirstAndTheLastToken(KvDtype dtype) {
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(TestModels.synthetic("tiny", GgmlType.F32), pool);
        InferenceEngine e = engine(model, dtype)) {
      Generation g = e.start("g", new int[] {1, 5, 6}, SamplingParams.greedy(2));
      assertThatThrownBy(g::snapshot).hasMessageContaining("between its first and its last token");
      e.prefillAll(g, 8);
      GenerationSnapshot s = g.snapshot();
      assertThat(s.kvLength()).isEqualTo(3);
      assertThatThrownBy(() -> SnapshotJson.read(new ObjectMapper().createObjectNode()))
          .hasMessageContaining("missing 'sampler'");
      e.decode(List.of(g));
      assertThat(g.finished()).isTrue();
      assertThatThrownBy(g::snapshot).isInstanceOf(IllegalStateException.class);
      e.release(g);
    }
  }

  private static InferenceEngine engine(LlamaModel model, KvDtype dtype) {
    return InferenceEngine.create(
        model, EngineOptions.defaults().withKvBlocks(64).withKvDtype(dtype));
  }
}
