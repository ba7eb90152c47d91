package dev.duet.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.math.BigInteger;
import org.junit.jupiter.api.Test;

class SamplerRngTest {

  private static final BigInteger MASK = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

  /**
   * A second, deliberately different xoshiro256** written with unsigned BigInteger arithmetic on a
   * word array, straight from the published C reference.
   */
  private static final class BigXoshiro {
    private final BigInteger[] s = new BigInteger[4];

    BigXoshiro(long... words) {
      for (int i = 0; i < 4; i++) {
        s[i] = new BigInteger(Long.toUnsignedString(words[i]));
      }
    }

    private static BigInteger rotl(BigInteger x, int k) {
      return x.shiftLeft(k).and(MASK).or(x.shiftRight(64 - k));
    }

    long next() {
      BigInteger result = rotl(s[1].multiply(BigInteger.valueOf(5)).and(MASK), 7);
      result = result.multiply(BigInteger.valueOf(9)).and(MASK);
      BigInteger t = s[1].shiftLeft(17).and(MASK);
      s[2] = s[2].xor(s[0]);
      s[3] = s[3].xor(s[1]);
      s[1] = s[1].xor(s[2]);
      s[0] = s[0].xor(s[3]);
      s[2] = s[2].xor(t);
      s[3] = rotl(s[3], 45);
      return result.longValue();
    }
  }

  @Test
  void stateOneTwoThreeFourGivesThePublishedReferenceOutputs() {
    // First ten outputs of the reference xoshiro256starstar.c from state {1, 2, 3, 4}, as listed
    // in the rand_xoshiro crate's reference test.
    String[] expected = {
      "11520",
      "0",
      "1509978240",
      "1215971899390074240",
      "1216172134540287360",
      "607988272756665600",
      "16172922978634559625",
      "8476171486693032832",
      "10595114339597558777",
      "2904607092377533576"
    };
    SamplerRng rng = SamplerRng.restore(new RngState(1, 2, 3, 4));
    for (String e : expected) {
      assertThat(Long.toUnsignedString(rng.nextLong())).isEqualTo(e);
    }
  }

  @Test
  void aLongRunMatchesAnIndependentBigIntegerImplementation() {
    SamplerRng rng = new SamplerRng(20240917L);
    RngState start = rng.state();
    BigXoshiro ref = new BigXoshiro(start.toLongArray());
    for (int i = 0; i < 5000; i++) {
      assertThat(rng.nextLong()).as("draw %d", i).isEqualTo(ref.next());
    }
  }

  @Test
  void seedingFillsTheStateWithTheFirstFourSplitMix64Outputs() {
    // Published SplitMix64 outputs for seed 0.
    assertThat(new SamplerRng(0).state())
        .isEqualTo(
            new RngState(
                0xE220A8397B1DCDAFL,
                0x6E789E6AA1B965F4L,
                0x06C45D188009454FL,
                0xF88BB8A8724C81ECL));
  }

  @Test
  void nextDoubleUsesTheTop53BitsOfNextLong() {
    SamplerRng a = new SamplerRng(7);
    SamplerRng b = new SamplerRng(7);
    for (int i = 0; i < 1000; i++) {
      double d = a.nextDouble();
      long bits = b.nextLong() >>> 11;
      assertThat(d).isEqualTo(bits / 9007199254740992.0).isGreaterThanOrEqualTo(0).isLessThan(1);
    }
  }

  @Test
  void nextDoubleLooksUniform() {
    SamplerRng rng = new SamplerRng(99);
    int[] buckets = new int[10];
    int n = 100_000;
    double sum = 0;
    for (int i = 0; i < n; i++) {
      double d = rng.nextDouble();
      sum += d;
      buckets[(int) (d * 10)]++;
    }
    assertThat(sum / n).isCloseTo(0.5, offset(0.01));
    for (int b : buckets) {
      assertThat(b).isBetween(9_400, 10_600);
    }
  }

  @Test
  void sameSeedGivesTheSameStreamAndDifferentSeedsDiffer() {
    SamplerRng a = new SamplerRng(123);
    SamplerRng b = new SamplerRng(123);
    SamplerRng c = new SamplerRng(124);
    boolean anyDifferent = false;
    for (int i = 0; i < 100; i++) {
      long x = a.nextLong();
      assertThat(b.nextLong()).isEqualTo(x);
      anyDifferent |= c.nextLong() != x;
    }
    assertThat(anyDifferent).isTrue();
  }

  @Test
  void restoringASavedStateContinuesTheIdenticalStream() {
    SamplerRng rng = new SamplerRng(5);
    for (int i = 0; i < 37; i++) {
      rng.nextLong();
    }
    long[] saved = rng.state().toLongArray();
    long[] expected = new long[200];
    for (int i = 0; i < expected.length; i++) {
      expected[i] = rng.nextLong();
    }
    SamplerRng restored = SamplerRng.restore(RngState.fromLongArray(saved));
    for (int i = 0; i < expected.length; i++) {
      assertThat(restored.nextLong()).isEqualTo(expected[i]);
    }
  }

  @Test
  void stateIsASnapshotNotALiveView() {
    SamplerRng rng = new SamplerRng(1);
    RngState before = rng.state();
    rng.nextLong();
    assertThat(rng.state()).isNotEqualTo(before);
    long again = SamplerRng.restore(before).nextLong();
    assertThat(SamplerRng.restore(before).nextLong()).isEqualTo(again);
  }

  @Test
  void allZeroOrMisSizedStatesAreRejected() {
    assertThatThrownBy(() -> new RngState(0, 0, 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("all zero");
    assertThatThrownBy(() -> RngState.fromLongArray(new long[3]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("rng state must have 4 longs, got 3");
    assertThatThrownBy(() -> SamplerRng.restore(null)).isInstanceOf(IllegalArgumentException.class);
  }
}
