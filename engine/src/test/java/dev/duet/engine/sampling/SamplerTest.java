package dev.duet.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SamplerTest {

  private static float[] randomLogits(Random random, int n) {
    float[] logits = new float[n];
    for (int i = 0; i < n; i++) {
      logits[i] = (float) (random.nextGaussian() * 3);
    }
    return logits;
  }

  private static double[] softmax(float[] logits, double temperature) {
    double max = Double.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l);
    }
    double[] p = new double[logits.length];
    double sum = 0;
    for (int i = 0; i < logits.length; i++) {
      p[i] = Math.exp((logits[i] - max) / temperature);
      sum += p[i];
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= sum;
    }
    return p;
  }

  private static double chiSquare(int[] counts, double[] expectedProbabilities, int draws) {
    double chi = 0;
    for (int i = 0; i < counts.length; i++) {
      double e = expectedProbabilities[i] * draws;
      chi += (counts[i] - e) * (counts[i] - e) / e;
    }
    return chi;
  }

  @Test
  void greedyPicksTheLowestIdAmongTiedMaxima() {
    float[] logits = {1f, 3f, -2f, 3f, 3f};
    assertThat(new Sampler(SamplingParams.greedy(1)).sample(logits, 5)).isEqualTo(1);
  }

  @Test
  void greedyTreatsNegativeAndPositiveZeroAsATie() {
    float[] logits = {-1f, -0f, 0f};
    assertThat(new Sampler(SamplingParams.greedy(1)).sample(logits, 3)).isEqualTo(1);
  }

  @Test
  void greedyConsumesNoRandomness() {
    Sampler sampler = new Sampler(SamplingParams.greedy(1).withSeed(77));
    SamplerState before = sampler.state();
    for (int i = 0; i < 10; i++) {
      sampler.sample(new float[] {0.5f, 0.25f, 0.75f}, 3);
    }
    assertThat(sampler.state()).isEqualTo(before);
  }

  @Test
  void topKOfOneEqualsGreedyAndConsumesNoRandomness() {
    Random random = new Random(1);
    Sampler topOne = new Sampler(SamplingParams.random(1.3f, 9, 1).withTopK(1));
    Sampler greedy = new Sampler(SamplingParams.greedy(1));
    SamplerState before = topOne.state();
    for (int i = 0; i < 50; i++) {
      float[] logits = randomLogits(random, 1000);
      assertThat(topOne.sample(logits, 1000)).isEqualTo(greedy.sample(logits, 1000));
    }
    assertThat(topOne.state()).isEqualTo(before);
  }

  @Test
  void onlyTheFirstVocabSizeLogitsCount() {
    float[] logits = {0f, 1f, 0.5f, 100f, 100f};
    assertThat(new Sampler(SamplingParams.greedy(1)).sample(logits, 3)).isEqualTo(1);
    Sampler sampler = new Sampler(SamplingParams.random(1f, 3, 1));
    for (int i = 0; i < 1000; i++) {
      assertThat(sampler.sample(logits, 3)).isBetween(0, 2);
    }
  }

  @Test
  void plainSamplingFollowsTheSoftmaxDistribution() {
    float[] logits = {2f, 1f, 0.5f, 0f, -1f, -2f, -3f, 1.5f};
    double temperature = 0.7;
    Sampler sampler = new Sampler(SamplingParams.random((float) temperature, 2024, 1));
    int draws = 200_000;
    int[] counts = new int[logits.length];
    for (int i = 0; i < draws; i++) {
      counts[sampler.sample(logits, logits.length)]++;
    }
    // 7 degrees of freedom: the 0.999 quantile is 24.3; a wrong distribution gives thousands.
    assertThat(chiSquare(counts, softmax(logits, (float) temperature), draws)).isLessThan(30);
  }

  @Test
  void topKSamplingFollowsTheSoftmaxOverTheKBestOnly() {
    float[] logits = {0.1f, 2f, -1f, 1f, 1.5f, 0.2f};
    Sampler sampler = new Sampler(SamplingParams.random(1f, 11, 1).withTopK(3));
    int draws = 100_000;
    int[] counts = new int[logits.length];
    for (int i = 0; i < draws; i++) {
      counts[sampler.sample(logits, logits.length)]++;
    }
    assertThat(counts[0] + counts[2] + counts[5]).isZero();
    double[] kept = softmax(new float[] {2f, 1f, 1.5f}, 1);
    assertThat(chiSquare(new int[] {counts[1], counts[3], counts[4]}, kept, draws)).isLessThan(20);
  }

  @Test
  void topPExcludesTheTailTokens() {
    // At temperature 1 ids 0-2 hold ~0.917, id 3 ~0.079 and the 96 tail ids ~0.004 together:
    // about 40 tail draws in 10k without top-p, none with top-p 0.95.
    float[] logits = new float[100];
    Arrays.fill(logits, -6f);
    logits[0] = 3f;
    logits[1] = 3f;
    logits[2] = 2.5f;
    logits[3] = 1.5f;
    double[] p = softmax(logits, 1);
    assertThat(p[0] + p[1] + p[2]).isLessThan(0.93);
    assertThat(p[0] + p[1] + p[2] + p[3]).isGreaterThan(0.99);
    Sampler sampler = new Sampler(SamplingParams.random(1f, 5, 1).withTopP(0.95f));
    int[] counts = new int[logits.length];
    for (int i = 0; i < 10_000; i++) {
      counts[sampler.sample(logits, logits.length)]++;
    }
    for (int id = 4; id < logits.length; id++) {
      assertThat(counts[id]).as("tail id %d", id).isZero();
    }
    for (int id = 0; id < 4; id++) {
      assertThat(counts[id]).as("nucleus id %d", id).isPositive();
    }
  }

  @Test
  void aTinyTopPKeepsOnlyTheMostLikelyToken() {
    float[] logits = {1f, 4f, 3.9f, 0f};
    Sampler sampler = new Sampler(SamplingParams.random(1f, 8, 1).withTopP(0.01f));
    for (int i = 0; i < 1000; i++) {
      assertThat(sampler.sample(logits, 4)).isEqualTo(1);
    }
  }

  @Test
  void maskedLogitsAreNeverDrawn() {
    float[] logits = {Float.NEGATIVE_INFINITY, 0f, Float.NEGATIVE_INFINITY, 0f};
    Sampler sampler = new Sampler(SamplingParams.random(2f, 4, 1));
    for (int i = 0; i < 5000; i++) {
      assertThat(sampler.sample(logits, 4)).isIn(1, 3);
    }
  }

  @Test
  void theSameSeedGivesTheSameIds() {
    Random random = new Random(3);
    float[][] steps = new float[100][];
    for (int i = 0; i < steps.length; i++) {
      steps[i] = randomLogits(random, 32000);
    }
    SamplingParams params = SamplingParams.random(0.9f, 1234, 1).withTopK(50).withTopP(0.95f);
    int[] first = new int[steps.length];
    int[] second = new int[steps.length];
    Sampler a = new Sampler(params);
    Sampler b = new Sampler(params);
    for (int i = 0; i < steps.length; i++) {
      first[i] = a.sample(steps[i], 32000);
      second[i] = b.sample(steps[i], 32000);
    }
    assertThat(second).isEqualTo(first);
    Sampler other = new Sampler(params.withSeed(1235));
    int[] third = new int[steps.length];
    for (int i = 0; i < steps.length; i++) {
      third[i] = other.sample(steps[i], 32000);
    }
    assertThat(third).isNotEqualTo(first);
  }

  @Test
  void resumingFromASavedStateContinuesTheUninterruptedSequence() {
    Random random = new Random(4);
    float[][] steps = new float[60][];
    for (int i = 0; i < steps.length; i++) {
      steps[i] = randomLogits(random, 5000);
    }
    SamplingParams params = SamplingParams.random(1.1f, 99, 1).withTopP(0.9f);
    Sampler uninterrupted = new Sampler(params);
    int[] expected = new int[steps.length];
    for (int i = 0; i < steps.length; i++) {
      expected[i] = uninterrupted.sample(steps[i], 5000);
    }
    Sampler before = new Sampler(params);
    int[] actual = new int[steps.length];
    for (int i = 0; i < 25; i++) {
      actual[i] = before.sample(steps[i], 5000);
    }
    SamplerState saved = before.state();
    // Serialize as plain longs, as a migration would.
    long[] words = saved.rng().toLongArray();
    Sampler after = new Sampler(new SamplerState(saved.params(), RngState.fromLongArray(words)));
    for (int i = 25; i < steps.length; i++) {
      actual[i] = after.sample(steps[i], 5000);
    }
    assertThat(actual).isEqualTo(expected);
  }

  @Test
  void everyNonGreedySampleUsesExactlyOneDraw() {
    SamplingParams[] variants = {
      SamplingParams.random(1f, 21, 1),
      SamplingParams.random(1f, 21, 1).withTopK(5),
      SamplingParams.random(1f, 21, 1).withTopP(0.5f),
      SamplingParams.random(1f, 21, 1).withTopK(5).withTopP(0.001f),
    };
    float[] logits = randomLogits(new Random(6), 300);
    for (SamplingParams params : variants) {
      Sampler sampler = new Sampler(params);
      SamplerRng shadow = new SamplerRng(21);
      for (int i = 0; i < 20; i++) {
        sampler.sample(logits, 300);
        shadow.nextDouble();
        assertThat(sampler.state().rng()).as("%s", params).isEqualTo(shadow.state());
      }
    }
  }

  @Test
  void matchesAStraightforwardFullSortImplementationBitForBit() {
    Random random = new Random(12);
    int[] vocabSizes = {1, 2, 7, 64, 1000, 40000};
    int[] topKs = {0, 2, 3, 40, 1000, 100000};
    float[] topPs = {1f, 0.99f, 0.9f, 0.5f, 0.05f};
    float[] temperatures = {0.05f, 0.7f, 1f, 2.5f};
    int cases = 0;
    for (int vocab : vocabSizes) {
      for (int topK : topKs) {
        for (float topP : topPs) {
          float temperature = temperatures[random.nextInt(temperatures.length)];
          SamplingParams params =
              SamplingParams.random(temperature, random.nextLong(), 1)
                  .withTopK(topK)
                  .withTopP(topP);
          Sampler sampler = new Sampler(params);
          SamplerRng referenceRng = new SamplerRng(params.seed());
          for (int step = 0; step < 5; step++) {
            float[] logits = randomLogits(random, vocab + 3);
            if (step % 2 == 1) {
              // Coarse values make many exact ties, exercising the id tie-breaks.
              for (int i = 0; i < logits.length; i++) {
                logits[i] = Math.round(logits[i]);
              }
            }
            int expected = reference(logits, vocab, params, referenceRng);
            assertThat(sampler.sample(logits, vocab))
                .as("vocab %d, %s, step %d", vocab, params, step)
                .isEqualTo(expected);
            assertThat(sampler.state().rng()).isEqualTo(referenceRng.state());
            cases++;
          }
        }
      }
    }
    assertThat(cases).isEqualTo(vocabSizes.length * topKs.length * topPs.length * 5);
  }

  /** The documented algorithm, written the obvious way with boxed lists and full sorts. */
  private static int reference(float[] logits, int vocab, SamplingParams p, SamplerRng rng) {
    List<Integer> candidates = new ArrayList<>();
    for (int id = 0; id < vocab; id++) {
      candidates.add(id);
    }
    Comparator<Integer> byLogit =
        Comparator.<Integer>comparingDouble(id -> -logits[id] + 0.0).thenComparingInt(id -> id);
    if (p.isGreedy()) {
      return candidates.stream().sorted(byLogit).findFirst().orElseThrow();
    }
    if (p.topK() > 0 && p.topK() < vocab) {
      candidates.sort(byLogit);
      candidates = new ArrayList<>(candidates.subList(0, p.topK()));
    }
    double max = candidates.stream().mapToDouble(id -> logits[id]).max().orElseThrow();
    double[] w = new double[vocab];
    double z = 0;
    for (int id : candidates) {
      w[id] = Math.exp((logits[id] - max) / p.temperature());
      z += w[id];
    }
    List<Integer> kept = candidates;
    if (p.topP() < 1f) {
      List<Integer> sorted = new ArrayList<>(candidates);
      sorted.sort(Comparator.<Integer>comparingDouble(id -> -w[id]).thenComparingInt(id -> id));
      double target = p.topP() * z;
      double c = 0;
      kept = sorted;
      for (int i = 0; i < sorted.size(); i++) {
        c += w[sorted.get(i)];
        if (c >= target) {
          kept = sorted.subList(0, i + 1);
          break;
        }
      }
    }
    double s = 0;
    for (int id : kept) {
      s += w[id];
    }
    double u = rng.nextDouble() * s;
    double c = 0;
    int lastPositive = kept.getFirst();
    for (int id : kept) {
      c += w[id];
      if (u < c) {
        return id;
      }
      if (w[id] > 0) {
        lastPositive = id;
      }
    }
    return lastPositive;
  }

  @Test
  void nanOrPositiveInfinityLogitsAreRejectedInEveryMode() {
    SamplingParams[] variants = {
      SamplingParams.greedy(1),
      SamplingParams.random(1f, 1, 1),
      SamplingParams.random(1f, 1, 1).withTopK(2),
      SamplingParams.random(1f, 1, 1).withTopP(0.5f),
    };
    for (SamplingParams params : variants) {
      Sampler sampler = new Sampler(params);
      assertThatThrownBy(() -> sampler.sample(new float[] {0f, Float.NaN, 1f}, 3))
          .as("%s", params)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("logits[1] must be finite or -Infinity, got NaN");
      assertThatThrownBy(() -> sampler.sample(new float[] {0f, 1f, Float.POSITIVE_INFINITY}, 3))
          .as("%s", params)
          .hasMessage("logits[2] must be finite or -Infinity, got Infinity");
      float[] masked = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY};
      assertThatThrownBy(() -> sampler.sample(masked, 3))
          .as("%s", params)
          .hasMessageContaining("all -Infinity");
    }
  }

  @Test
  void vocabSizeOutsideTheLogitsIsRejected() {
    Sampler sampler = new Sampler(SamplingParams.greedy(1));
    assertThatThrownBy(() -> sampler.sample(new float[3], 4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("vocabSize must be in [1, 3], got 4");
    assertThatThrownBy(() -> sampler.sample(new float[3], 0))
        .hasMessage("vocabSize must be in [1, 3], got 0");
  }
}
