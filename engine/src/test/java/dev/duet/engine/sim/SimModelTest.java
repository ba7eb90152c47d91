package dev.duet.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.Generation;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.exec.TokenEvent;
import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.kv.KvLayout;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.sim.LatencyProfile.Coefficients;
import dev.duet.engine.sim.LatencyProfile.Geometry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The emulated model: paced passes, real-size K/V, and tokens that follow the cached K/V. */
class SimModelTest {

  /** Small and fast: 4 layers, 2 KV heads of 8, passes of a fraction of a millisecond. */
  private static final LatencyProfile FAST =
      new LatencyProfile(
          "fast",
          new Coefficients(0.05, 0.001, 0),
          new Coefficients(0.05, 0.001, 0),
          new Geometry(4, 4, 2, 8, 32, 64, KvDtype.BF16, 2000, 512));

  private static final int[] PROMPT = {1, 400, 401, 402, 500, 600, 700, 800, 900, 1000, 1100};

  private static InferenceEngine engine(SimModel model) {
    return InferenceEngine.create(
        model, EngineOptions.defaults().withKvBlocks(64).withKvDtype(model.kvDtype()));
  }

  private static List<Integer> alone(SamplingParams params, int chunk) {
    try (InferenceEngine e = engine(SimModel.create(FAST, 1, 1))) {
      return e.generate("a", PROMPT, params, chunk, ev -> {}).generated();
    }
  }

  @Test
  void theSameRequestGivesTheSameTokensAloneChunkedAndBatched() {
    SamplingParams greedy = SamplingParams.greedy(24).withIgnoreEos(true);
    List<Integer> whole = alone(greedy, 512);
    assertThat(whole).hasSize(24);
    assertThat(alone(greedy, 3)).isEqualTo(whole);
    assertThat(alone(greedy, 1)).isEqualTo(whole);

    try (InferenceEngine e = engine(SimModel.create(FAST, 1, 1))) {
      Generation other = e.start("b", new int[] {1, 300, 301}, greedy);
      e.prefillAll(other, 512);
      Generation g = e.start("a", PROMPT, greedy);
      List<Integer> batched = new ArrayList<>();
      // Chunks of 4 ride along with the other request's decode rows, then both decode together.
      while (!g.prefillDone()) {
        Map<Generation, Integer> chunk = new HashMap<>();
        chunk.put(g, 4);
        for (TokenEvent ev : e.step(List.of(other), chunk)) {
          if (ev.generation() == g) {
            batched.add(ev.token());
          }
        }
      }
      while (!g.finished()) {
        List<Generation> both = other.finished() ? List.of(g) : List.of(other, g);
        for (TokenEvent ev : e.decode(both)) {
          if (ev.generation() == g) {
            batched.add(ev.token());
          }
        }
      }
      assertThat(batched).isEqualTo(whole);
    }
  }

  @Test
  void seededSamplingIsReproducibleAndDiffersFromGreedy() {
    SamplingParams seeded = SamplingParams.random(1.5f, 42, 24).withIgnoreEos(true);
    List<Integer> a = alone(seeded, 512);
    assertThat(alone(seeded, 2)).isEqualTo(a);
    assertThat(a).isNotEqualTo(alone(SamplingParams.greedy(24).withIgnoreEos(true), 512));
  }

  @Test
  void zeroingOneLayerOfTheLastPromptPositionChangesTheNextToken() {
    assertThat(firstTokenAfter(-1)).isNotEqualTo(firstTokenAfter(2));
    assertThat(firstTokenAfter(-1)).isEqualTo(firstTokenAfter(-1));
  }

  /** Prefills, zeroes layer {@code layer}'s K/V of the last prompt position (-1: none), decodes. */
  private static int firstTokenAfter(int layer) {
    SamplingParams greedy = SamplingParams.greedy(4).withIgnoreEos(true);
    try (InferenceEngine e = engine(SimModel.create(FAST, 1, 1))) {
      Generation g = e.start("a", PROMPT, greedy);
      e.prefillAll(g, 512);
      if (layer >= 0) {
        KvCachePool c = e.cache();
        long row = c.layout().rowBytes();
        c.segment().asSlice(g.kv().keyOffset(layer, PROMPT.length - 1), row).fill((byte) 0);
        c.segment().asSlice(g.kv().valueOffset(layer, PROMPT.length - 1), row).fill((byte) 0);
      }
      return e.decode(List.of(g)).getFirst().token();
    }
  }

  @Test
  void losingABlockOfThePromptChangesTheTokensThatFollow() {
    int[] prompt = new int[80];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = 300 + 7 * i;
    }
    assertThat(tokensAfterLosingBlock(prompt, 2)).isNotEqualTo(tokensAfterLosingBlock(prompt, -1));
  }

  private static List<Integer> tokensAfterLosingBlock(int[] prompt, int blockIndex) {
    SamplingParams greedy = SamplingParams.greedy(32).withIgnoreEos(true);
    try (InferenceEngine e = engine(SimModel.create(FAST, 1, 1))) {
      Generation g = e.start("a", prompt, greedy);
      List<Integer> out = new ArrayList<>();
      out.add(e.prefillAll(g, 512).token());
      if (blockIndex >= 0) {
        KvCachePool c = e.cache();
        int block = g.kv().blockIds()[blockIndex];
        for (int l = 0; l < c.layout().numLayers(); l++) {
          c.segment().asSlice(c.blockOffset(l, block), c.layout().blockBytes()).fill((byte) 0);
        }
      }
      while (!g.finished()) {
        out.add(e.decode(List.of(g)).getFirst().token());
      }
      return out;
    }
  }

  @Test
  void aRequestMovedMidDecodeContinuesExactlyOnlyWhenEveryLayerMoved() {
    SamplingParams seeded = SamplingParams.random(0.9f, 5, 20).withIgnoreEos(true);
    List<Integer> whole = alone(seeded, 512);
    assertThat(movedAfter(seeded, 6, -1)).isEqualTo(whole);
    assertThat(movedAfter(seeded, 6, 3)).isNotEqualTo(whole);
  }

  /**
   * Decodes {@code steps} tokens on one engine, then continues on another from the snapshot and a
   * copy of the sequence's blocks, leaving out layer {@code skipLayer} (-1: none).
   */
  private static List<Integer> movedAfter(SamplingParams params, int steps, int skipLayer) {
    try (InferenceEngine from = engine(SimModel.create(FAST, 1, 1));
        InferenceEngine to = engine(SimModel.create(FAST, 1, 1))) {
      Generation g = from.start("a", PROMPT, params);
      List<Integer> out = new ArrayList<>(List.of(from.prefillAll(g, 512).token()));
      for (int i = 0; i < steps; i++) {
        out.add(from.decode(List.of(g)).getFirst().token());
      }
      Generation moved = to.resume(g.snapshot());
      KvCachePool src = from.cache();
      KvCachePool dst = to.cache();
      int[] srcBlocks = g.kv().blockIds();
      int[] dstBlocks = moved.kv().blockIds();
      long bytes = src.layout().blockBytes();
      for (int l = 0; l < src.layout().numLayers(); l++) {
        for (int b = 0; b < dstBlocks.length && l != skipLayer; b++) {
          dst.segment()
              .asSlice(dst.blockOffset(l, dstBlocks[b]), bytes)
              .copyFrom(src.segment().asSlice(src.blockOffset(l, srcBlocks[b]), bytes));
        }
      }
      from.release(g);
      while (!moved.finished()) {
        out.add(to.decode(List.of(moved)).getFirst().token());
      }
      return out;
    }
  }

  @Test
  void aPassTakesTheProfilesTimeAndReportsLayersSpreadOverIt() {
    LatencyProfile slow =
        new LatencyProfile(
            "slow",
            new Coefficients(40, 0, 0),
            new Coefficients(30, 0, 0),
            new Geometry(4, 4, 2, 8, 32, 64, KvDtype.F32, 2000, 512));
    try (InferenceEngine e = engine(SimModel.create(slow, 1, 1))) {
      Generation g = e.start("a", PROMPT, SamplingParams.greedy(3).withIgnoreEos(true));
      long[] layerAt = new long[4];
      long t0 = System.nanoTime();
      e.step(List.of(), Map.of(g, PROMPT.length), l -> layerAt[l] = System.nanoTime());
      long prefill = System.nanoTime() - t0;
      t0 = System.nanoTime();
      e.decode(List.of(g));
      long decode = System.nanoTime() - t0;
      // Never early beyond clock noise (a CI run once measured 29.999967 ms for a 30 ms pass);
      // late only by scheduling noise on a loaded machine.
      assertThat(prefill / 1e6).isBetween(40.0 - 0.1, 40.0 + 60);
      assertThat(decode / 1e6).isBetween(30.0 - 0.1, 30.0 + 60);
      // Layer l is reported after l/4 of the pass (its share), before the pass ends.
      for (int l = 1; l < 4; l++) {
        assertThat((layerAt[l] - layerAt[0]) / 1e6).isGreaterThanOrEqualTo(10.0 * l);
      }
    }
  }

  @Test
  void kvScaleDividesTheRealPerTokenSize() {
    LatencyProfile h100 = SimProfiles.named("h100-llama3-8b");
    KvLayout real =
        KvLayout.of(32, 8, SimModel.create(h100, 1, 1).config().headDim(), 1, KvDtype.BF16);
    KvLayout scaled =
        KvLayout.of(32, 8, SimModel.create(h100, 16, 1).config().headDim(), 1, KvDtype.BF16);
    assertThat(real.bytesPerToken()).isEqualTo(128 * 1024);
    assertThat(scaled.bytesPerToken()).isEqualTo(8 * 1024);
    assertThatThrownBy(() -> SimModel.create(h100, 3, 1)).hasMessageContaining("--kv-scale");
    assertThatThrownBy(() -> SimModel.create(h100, 128, 1)).hasMessageContaining("even width");
  }

  @Test
  void itsTokenizerRoundTripsTextSoTheControllerCanTokenize() {
    SimModel m = SimModel.of("h100-llama3-8b");
    int[] ids = m.tokenizer().encode("Once upon a time");
    assertThat(m.tokenizer().decode(ids, true)).isEqualTo("Once upon a time");
    assertThat(m.source()).isEqualTo("sim:h100-llama3-8b");
  }
}
