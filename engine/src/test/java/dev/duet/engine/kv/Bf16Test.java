package dev.duet.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Bf16Test {

  private static int bits(float f) {
    return Bf16.fromFloat(f) & 0xffff;
  }

  @Test
  void exactlyRepresentableValuesAreKept() {
    assertThat(bits(1.0f)).isEqualTo(0x3f80);
    assertThat(bits(-2.5f)).isEqualTo(0xc020);
    assertThat(bits(0.0f)).isEqualTo(0x0000);
    assertThat(bits(-0.0f)).isEqualTo(0x8000);
  }

  @Test
  void tiesRoundToEven() {
    // 1 + 2^-8 lies halfway between 1.0 (0x3f80, even) and 1 + 2^-7 (0x3f81): goes down.
    assertThat(bits(1.00390625f)).isEqualTo(0x3f80);
    // 1 + 3*2^-8 lies halfway between 0x3f81 (odd) and 0x3f82: goes up.
    assertThat(bits(1.01171875f)).isEqualTo(0x3f82);
    assertThat(bits(-1.01171875f)).isEqualTo(0xbf82);
  }

  @Test
  void valuesJustAboveOrBelowAHalfRoundToNearest() {
    assertThat(bits(Float.intBitsToFloat(0x3f80_8001))).isEqualTo(0x3f81);
    assertThat(bits(Float.intBitsToFloat(0x3f80_7fff))).isEqualTo(0x3f80);
    assertThat(bits(-1.0f - 0x1.8p-8f)).isEqualTo(0xbf81); // -(1 + 0.75 step): above the half
  }

  @Test
  void infinitiesStayInfiniteAndOverflowRoundsToInfinity() {
    assertThat(bits(Float.POSITIVE_INFINITY)).isEqualTo(0x7f80);
    assertThat(bits(Float.NEGATIVE_INFINITY)).isEqualTo(0xff80);
    assertThat(bits(Float.MAX_VALUE)).isEqualTo(0x7f80);
    assertThat(bits(-Float.MAX_VALUE)).isEqualTo(0xff80);
  }

  @Test
  void nanStaysNanEvenWhenItsPayloadIsOnlyInTheDroppedBits() {
    assertThat(Bf16.toFloat(Bf16.fromFloat(Float.NaN))).isNaN();
    assertThat(Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x7f80_0001)))).isNaN();
    assertThat(Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0xff80_ffff)))).isNaN();
  }

  @Test
  void tinySubnormalsRoundToSignedZero() {
    assertThat(bits(Float.MIN_VALUE)).isEqualTo(0x0000);
    assertThat(bits(-Float.MIN_VALUE)).isEqualTo(0x8000);
  }

  @Test
  void randomFiniteValuesMatchANearestNeighbourReference() {
    SplittableRandom random = new SplittableRandom(42);
    for (int i = 0; i < 200_000; i++) {
      float f = Float.intBitsToFloat(random.nextInt());
      if (!Float.isFinite(f)) {
        continue;
      }
      assertThat(Bf16.fromFloat(f)).as("bf16 of %s", f).isEqualTo(referenceBf16(f));
    }
  }

  @Test
  void toFloatIsExactForEveryBitPattern() {
    for (int b = 0; b < 0x10000; b++) {
      float f = Bf16.toFloat((short) b);
      assertThat(Float.floatToRawIntBits(f)).isEqualTo(b << 16);
    }
  }

  /**
   * Reference rounding written differently from {@link Bf16}: compare distances to the two
   * neighbouring bfloat16 values in double arithmetic, and break ties toward the even one.
   */
  static short referenceBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    int down = bits >>> 16;
    int up = down + 1; // next magnitude away from zero (may reach infinity)
    double vDown = Float.intBitsToFloat(down << 16);
    double vUp = Float.intBitsToFloat(up << 16);
    double dDown = Math.abs(f - vDown);
    double dUp = Math.abs(vUp - f);
    if (Double.isInfinite(vUp)) {
      // Halfway to "the next step" beyond MAX is where IEEE rounding overflows.
      dUp = Math.abs(Math.scalb(Math.signum((double) f), 128) - f);
    }
    if (dDown < dUp) {
      return (short) down;
    }
    if (dUp < dDown) {
      return (short) up;
    }
    return (short) ((down & 1) == 0 ? down : up);
  }
}
