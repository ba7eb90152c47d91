package dev.duet.engine.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Tests {@link SeededGaussian}, the weight generator behind synthetic models. */
class SyntheticGaussianTest {

  @Test
  void hasZeroMeanAndUnitVariance() {
    SeededGaussian g = new SeededGaussian(1, "x");
    int n = 200_000;
    double sum = 0;
    double sq = 0;
    double max = 0;
    for (int i = 0; i < n; i++) {
      double v = g.nextGaussian();
      sum += v;
      sq += v * v;
      max = Math.max(max, Math.abs(v));
    }
    assertThat(sum / n).isCloseTo(0, within(0.01));
    assertThat(sq / n).isCloseTo(1, within(0.02));
    assertThat(max).isGreaterThan(2.5).isLessThanOrEqualTo(Math.sqrt(3) * 2);
  }

  @Test
  void dependsOnlyOnSeedAndName() {
    float[] a = new SeededGaussian(5, "blk.0.attn_q.weight").fill(100, 0, 1);
    assertThat(new SeededGaussian(5, "blk.0.attn_q.weight").fill(100, 0, 1)).containsExactly(a);
    assertThat(new SeededGaussian(5, "blk.0.attn_k.weight").fill(100, 0, 1)).isNotEqualTo(a);
    assertThat(new SeededGaussian(6, "blk.0.attn_q.weight").fill(100, 0, 1)).isNotEqualTo(a);
  }

  @Test
  void hashesNamesWithFnv1a() {
    assertThat(SeededGaussian.fnv1a64("")).isEqualTo(0xcbf29ce484222325L);
    assertThat(SeededGaussian.fnv1a64("a")).isEqualTo(0xaf63dc4c8601ec8cL);
  }
}
