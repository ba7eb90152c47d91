package dev.duet.engine.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.kv.KvSequence;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.tensor.ComputePool;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Prefill on one engine, decode on another, through the schedulers' handoff API: the decode side
 * reserves blocks, the prefill side computes the prompt in mixed batches and copies its KV into
 * them at the first token, and the decode side continues from the snapshot. Every request gets
 * exactly the tokens it gets alone, and both pools end empty.
 */
class DisaggregatedSchedulingTest {

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
  void requestsPrefilledHereAndDecodedThereGetTheirSoloTokens(boolean layerByLayer) {
    try (ComputePool pool = new ComputePool(2);
        LlamaModel model = LlamaModel.load(TestModels.synthetic("gqa", GgmlType.F32), pool);
        InferenceEngine prefillEngine =
            InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(48));
        InferenceEngine decodeEngine =
            InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(64))) {
      // Different ids in the decode pool, so a copy to the same ids would show.
      decodeEngine.cache().newSequence().reserve(50);
      int decoy = decodeEngine.cache().usedBlocks();
      BatchScheduler prefill =
          new BatchScheduler(prefillEngine, new BatchScheduler.Options(32, 4, 64));
      BatchScheduler decode =
          new BatchScheduler(decodeEngine, new BatchScheduler.Options(16, 16, 64));
      SplittableRandom r = new SplittableRandom(3);
      Map<String, List<Integer>> solo = new HashMap<>();
      Map<String, List<Integer>> served = new HashMap<>();
      int vocab = model.config().vocabSize();
      for (int i = 0; i < 12; i++) {
        String id = "r" + i;
        int[] prompt = new int[2 + r.nextInt(70)];
        prompt[0] = 1;
        for (int j = 1; j < prompt.length; j++) {
          prompt[j] = 3 + r.nextInt(vocab - 3);
        }
        SamplingParams p =
            i % 2 == 0
                ? SamplingParams.greedy(1 + r.nextInt(15))
                : SamplingParams.random(0.9f, i, 1 + r.nextInt(15)).withIgnoreEos(true);
        try (InferenceEngine alone =
            InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(16))) {
          solo.put(id, alone.generate(id, prompt, p, 512, ev -> {}).generated());
        }
        KvSequence reserved = decode.reserve(id, prompt.length + p.maxTokens());
        assertThat(reserved).isNotNull();
        List<Integer> tokens = new ArrayList<>();
        served.put(id, tokens);
        List<Integer> layersSeen = new ArrayList<>();
        int layers = model.config().nLayers();
        BatchScheduler.Handoff handoff =
            new BatchScheduler.Handoff() {
              @Override
              public void layerReady(Generation g, int layer) {
                layersSeen.add(layer);
                if (layerByLayer) {
                  // Only this layer, while the next ones still compute: it must be final now.
                  copyLayer(g.kv(), reserved, layer, g.promptLength());
                }
              }

              @Override
              public void firstToken(Generation g) {
                assertThat(layersSeen)
                    .isEqualTo(java.util.stream.IntStream.range(0, layers).boxed().toList());
                if (!layerByLayer) {
                  HandoffTest.copyKv(g.kv(), reserved);
                }
                decode.submitResumed(
                    g.snapshot(),
                    ev -> {
                      if (ev.token() >= 0) {
                        tokens.add(ev.token());
                      }
                    });
              }
            };
        assertThat(
                prefill.submitHandoff(
                    id,
                    prompt,
                    p,
                    handoff,
                    ev -> {
                      if (ev.token() >= 0) {
                        tokens.add(ev.token());
                      }
                      if (ev.finished()) {
                        // The first token ended it (EOS or max_tokens 1): nothing to hand over,
                        // so the decode side's reservation is given back.
                        decode.cancel(id);
                      }
                    }))
            .isTrue();
        prefill.step(); // requests arrive while others run on both sides
        decode.step();
      }
      while (prefill.hasWork() || decode.hasWork()) {
        prefill.step();
        decode.step();
      }
      assertThat(served).isEqualTo(solo);
      assertThat(prefillEngine.cache().usedBlocks()).isZero();
      assertThat(decodeEngine.cache().usedBlocks()).isEqualTo(decoy);
      assertThat(decode.reserved()).isZero();
    }
  }

  /** Copies one layer of the first {@code tokens} positions' blocks from src to dst. */
  static void copyLayer(KvSequence src, KvSequence dst, int layer, int tokens) {
    var from = src.pool();
    var to = dst.pool();
    int bs = from.layout().blockSize();
    for (int b = 0; b * bs < tokens; b++) {
      java.lang.foreign.MemorySegment.copy(
          from.segment(),
          from.blockOffset(layer, src.blockIds()[b]),
          to.segment(),
          to.blockOffset(layer, dst.blockIds()[b]),
          from.layout().blockBytes());
    }
  }

  @Test
  void aReservationThatCannotFitIsRefusedAndCancelFreesOne() {
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(TestModels.synthetic("tiny", GgmlType.F32), pool);
        InferenceEngine engine =
            InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(4))) {
      BatchScheduler s = new BatchScheduler(engine, new BatchScheduler.Options(8, 4, 4));
      assertThat(s.reserve("big", 16 * 5)).isNull();
      assertThat(s.reserve("ok", 40)).isNotNull();
      assertThat(engine.cache().usedBlocks()).isEqualTo(3);
      assertThat(s.cancel("ok")).isTrue();
      assertThat(engine.cache().usedBlocks()).isZero();
      assertThat(s.reserved()).isZero();
    }
  }
}
