package dev.duet.engine.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.kv.KvSequence;
import dev.duet.engine.model.BatchRow;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.tensor.ComputePool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A row's logits are bit-identical whether it is computed alone, in any batch, or after any
 * chunking of its prompt. Checked on logits (not only on argmax ids), so a one-ulp difference
 * fails.
 */
class BatchInvarianceTest {

  private static final int STEPS = 12;

  private static int[] prompt(int length, long seed, int vocab) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] ids = new int[length];
    ids[0] = 1;
    for (int i = 1; i < length; i++) {
      ids[i] = r.nextInt(3, vocab);
    }
    return ids;
  }

  @ParameterizedTest
  @EnumSource(
      value = KvDtype.class,
      names = {"F32", "F16"})
  void eightPromptsDecodedTogetherHaveTheLogitsEachHasAlone(KvDtype kvDtype) {
    Path model = TestModels.synthetic("gqa", GgmlType.F32);
    try (ComputePool pool = new ComputePool(2);
        LlamaModel llama = LlamaModel.load(model, pool);
        InferenceEngine engine =
            InferenceEngine.create(
                llama, EngineOptions.defaults().withKvBlocks(256).withKvDtype(kvDtype))) {
      int vocab = llama.config().vocabSize();
      List<int[]> prompts = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        prompts.add(prompt(3 + 5 * i, 1000 + i, vocab));
      }
      List<float[][]> aloneLogits = new ArrayList<>();
      for (int[] p : prompts) {
        aloneLogits.add(logitsAlone(engine, p, Integer.MAX_VALUE));
      }
      // Together: every prompt prefilled in one pass, then each step one batch of 8 rows.
      List<KvSequence> kvs = new ArrayList<>();
      List<BatchRow> rows = new ArrayList<>();
      for (int[] p : prompts) {
        KvSequence kv = engine.cache().newSequence();
        kv.reserve(p.length);
        kvs.add(kv);
        for (int j = 0; j < p.length; j++) {
          rows.add(new BatchRow(kv, j, p[j], j == p.length - 1));
        }
      }
      float[][] l = llama.forward(rows, engine.cache());
      List<float[]> step = new ArrayList<>();
      for (int i = 0, end = 0; i < 8; i++) {
        end += prompts.get(i).length;
        kvs.get(i).setLength(prompts.get(i).length);
        step.add(l[end - 1]);
      }
      for (int s = 0; s < STEPS; s++) {
        rows.clear();
        for (int i = 0; i < 8; i++) {
          assertThat(bits(step.get(i)))
              .as("prompt %d step %d", i, s)
              .isEqualTo(bits(aloneLogits.get(i)[s]));
          int pos = prompts.get(i).length + s;
          kvs.get(i).reserve(pos + 1);
          rows.add(new BatchRow(kvs.get(i), pos, argmax(step.get(i)), true));
        }
        l = llama.forward(rows, engine.cache());
        step.clear();
        for (int i = 0; i < 8; i++) {
          kvs.get(i).setLength(prompts.get(i).length + s + 1);
          step.add(l[i]);
        }
      }
      kvs.forEach(KvSequence::free);
      assertThat(engine.cache().freeBlocks()).isEqualTo(engine.cache().totalBlocks());
    }
  }

  @Test
  void engineDecodeOfABatchGivesTheGreedyIdsOfEachPromptAlone() {
    Path model = TestModels.synthetic("gqa", GgmlType.Q8_0);
    try (ComputePool pool = new ComputePool(2);
        LlamaModel llama = LlamaModel.load(model, pool);
        InferenceEngine engine =
            InferenceEngine.create(llama, EngineOptions.defaults().withKvBlocks(256))) {
      int vocab = llama.config().vocabSize();
      List<List<Integer>> aloneIds = new ArrayList<>();
      List<Generation> gens = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        int[] p = prompt(2 + 9 * i, 50 + i, vocab);
        SamplingParams params = SamplingParams.greedy(STEPS).withIgnoreEos(true);
        aloneIds.add(engine.generate("a" + i, p, params, 16, e -> {}).generated());
        Generation g = engine.start("b" + i, p, params);
        engine.prefillAll(g, 5);
        gens.add(g);
      }
      while (!gens.getFirst().finished()) {
        engine.decode(gens);
      }
      for (int i = 0; i < 8; i++) {
        assertThat(gens.get(i).generated()).as("prompt %d", i).isEqualTo(aloneIds.get(i));
        engine.release(gens.get(i));
      }
      assertThat(engine.cache().freeBlocks()).isEqualTo(engine.cache().totalBlocks());
    }
  }

  private static int argmax(float[] l) {
    int best = 0;
    for (int i = 1; i < l.length; i++) {
      if (l[i] > l[best]) {
        best = i;
      }
    }
    return best;
  }

  /** Greedy run of one prompt alone, returning each step's logits. */
  private static float[][] logitsAlone(InferenceEngine engine, int[] prompt, int chunk) {
    var llama = engine.model();
    var kv = engine.cache().newSequence();
    try {
      float[][] out = new float[STEPS][];
      int pos = 0;
      float[] logits = null;
      while (pos < prompt.length) {
        int n = Math.min(chunk, prompt.length - pos);
        kv.reserve(pos + n);
        List<BatchRow> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          rows.add(new BatchRow(kv, pos + i, prompt[pos + i], pos + i == prompt.length - 1));
        }
        float[][] l = llama.forward(rows, engine.cache());
        pos += n;
        kv.setLength(pos);
        logits = l[n - 1];
      }
      for (int s = 0; s < STEPS; s++) {
        out[s] = logits;
        int next = argmax(logits);
        if (s == STEPS - 1) {
          break;
        }
        kv.reserve(pos + 1);
        logits = llama.forward(List.of(new BatchRow(kv, pos, next, true)), engine.cache())[0];
        pos++;
        kv.setLength(pos);
      }
      return out;
    } finally {
      kv.free();
    }
  }

  @Test
  void chunkedPrefillGivesBitIdenticalLogits() {
    Path model = TestModels.synthetic("gqa", GgmlType.F32);
    try (ComputePool pool = new ComputePool(2);
        LlamaModel llama = LlamaModel.load(model, pool);
        InferenceEngine engine =
            InferenceEngine.create(llama, EngineOptions.defaults().withKvBlocks(64))) {
      int[] p = prompt(150, 7, llama.config().vocabSize());
      float[][] whole = logitsAlone(engine, p, Integer.MAX_VALUE);
      for (int chunk : new int[] {1, 7, 64}) {
        float[][] chunked = logitsAlone(engine, p, chunk);
        for (int s = 0; s < STEPS; s++) {
          assertThat(bits(chunked[s])).as("chunk %d step %d", chunk, s).isEqualTo(bits(whole[s]));
        }
      }
      assertThat(engine.cache().freeBlocks()).isEqualTo(engine.cache().totalBlocks());
    }
  }

  @Test
  void aRowInsideAMixedBatchHasTheLogitsItHasAlone() {
    Path model = TestModels.synthetic("gqa", GgmlType.F32);
    try (ComputePool pool = new ComputePool(2);
        LlamaModel llama = LlamaModel.load(model, pool);
        InferenceEngine engine =
            InferenceEngine.create(llama, EngineOptions.defaults().withKvBlocks(128))) {
      int vocab = llama.config().vocabSize();
      int[] a = prompt(40, 1, vocab);
      int[] b = prompt(9, 2, vocab);
      float[][] aloneA = logitsAlone(engine, a, Integer.MAX_VALUE);
      float[][] aloneB = logitsAlone(engine, b, Integer.MAX_VALUE);
      // One forward pass holding a's whole prompt and b's whole prompt at once.
      var kvA = engine.cache().newSequence();
      var kvB = engine.cache().newSequence();
      kvA.reserve(a.length);
      kvB.reserve(b.length);
      List<BatchRow> rows = new ArrayList<>();
      for (int i = 0; i < b.length; i++) {
        rows.add(new BatchRow(kvB, i, b[i], i == b.length - 1));
      }
      for (int i = 0; i < a.length; i++) {
        rows.add(new BatchRow(kvA, i, a[i], i == a.length - 1));
      }
      float[][] l = llama.forward(rows, engine.cache());
      assertThat(bits(l[b.length - 1])).isEqualTo(bits(aloneB[0]));
      assertThat(bits(l[rows.size() - 1])).isEqualTo(bits(aloneA[0]));
      kvA.free();
      kvB.free();
    }
  }

  private static int[] bits(float[] v) {
    int[] out = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = Float.floatToRawIntBits(v[i]);
    }
    return out;
  }
}
