package dev.duet.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Tests {@link GgmlCodec} against bytes and floats worked out by hand. */
class GgufCodecTest {

  private static MemorySegment seg(byte[] b) {
    return MemorySegment.ofArray(b);
  }

  @Test
  void dequantizesAHandBuiltQ8_0Block() {
    byte[] block = new byte[34];
    block[0] = 0x00; // F16 0x3800 = 0.5, little-endian
    block[1] = 0x38;
    for (int j = 0; j < 32; j++) {
      block[2 + j] = (byte) (j * 9 - 128); // -128, -119, ..., 151 wraps to -105
    }
    float[] out = new float[32];
    GgmlCodec.decode(GgmlType.Q8_0, seg(block), 0, out, 0, 32);
    for (int j = 0; j < 32; j++) {
      assertThat(out[j]).isEqualTo(0.5f * (byte) (j * 9 - 128));
    }
    assertThat(out[0]).isEqualTo(-64f);
    assertThat(out[1]).isEqualTo(-59.5f);
  }

  @Test
  void dequantizesAHandBuiltQ4_0Block() {
    byte[] block = new byte[18];
    block[0] = 0x00; // F16 0xC000 = -2.0
    block[1] = (byte) 0xC0;
    for (int j = 0; j < 16; j++) {
      block[2 + j] = (byte) (j | ((15 - j) << 4)); // low nibble j, high nibble 15-j
    }
    float[] out = new float[32];
    GgmlCodec.decode(GgmlType.Q4_0, seg(block), 0, out, 0, 32);
    assertThat(out[0]).isEqualTo(16f); // -2 * (0 - 8)
    assertThat(out[8]).isEqualTo(0f); // -2 * (8 - 8)
    assertThat(out[15]).isEqualTo(-14f); // -2 * (15 - 8)
    assertThat(out[16]).isEqualTo(-14f); // high nibble of byte 0 is 15
    assertThat(out[31]).isEqualTo(16f); // high nibble of byte 15 is 0
    for (int j = 0; j < 16; j++) {
      assertThat(out[j]).isEqualTo(-2f * (j - 8));
      assertThat(out[16 + j]).isEqualTo(-2f * (7 - j));
    }
  }

  @Test
  void decodesFromAnOffsetIntoAnOffset() {
    byte[] bytes = new byte[3 + 2 * 34];
    bytes[3 + 34] = 0x00; // second block scale 1.0 (0x3C00)
    bytes[3 + 34 + 1] = 0x3C;
    bytes[3 + 34 + 2 + 5] = -7;
    float[] out = new float[70];
    GgmlCodec.decode(GgmlType.Q8_0, seg(bytes), 3, out, 6, 64);
    assertThat(out[6 + 32 + 5]).isEqualTo(-7f);
    assertThat(out[6 + 32 + 4]).isEqualTo(0f);
  }

  @Test
  void quantizesQ8_0WithScaleAmaxOver127AndRoundsHalvesAwayFromZero() {
    float[] x = new float[32];
    x[0] = 127f; // amax = 127, so d = 1.0 and id = 1.0
    x[1] = -127f;
    x[2] = 63.5f; // roundf -> 64
    x[3] = -63.5f; // roundf -> -64 (Math.round would give -63)
    x[4] = 2.49f;
    x[5] = -0.5f; // roundf -> -1
    byte[] q = GgmlCodec.encode(GgmlType.Q8_0, x);
    assertThat(q).hasSize(34);
    assertThat(q[0]).isEqualTo((byte) 0x00);
    assertThat(q[1]).isEqualTo((byte) 0x3C);
    assertThat(new byte[] {q[2], q[3], q[4], q[5], q[6], q[7], q[8]})
        .containsExactly(127, -127, 64, -64, 2, -1, 0);
  }

  @Test
  void quantizesQ4_0WithTheSignedLargestValueAsMinusEightScales() {
    float[] x = new float[32];
    x[0] = -8f; // largest |x|, negative: d = -8 / -8 = 1.0, id = 1.0
    x[1] = 7f; // 7 + 8.5 = 15.5 -> 15
    x[2] = 0.4f; // 8.9 -> 8
    x[3] = 0.5f; // 9.0 -> 9
    x[4] = -0.6f; // 7.9 -> 7
    x[16] = 7.9f; // 16.4 -> 16 -> clamped to 15, high nibble of byte 0
    x[17] = -3f; // 5.5 -> 5, high nibble of byte 1
    byte[] q = GgmlCodec.encode(GgmlType.Q4_0, x);
    assertThat(q).hasSize(18);
    assertThat(q[0]).isEqualTo((byte) 0x00);
    assertThat(q[1]).isEqualTo((byte) 0x3C);
    assertThat(q[2] & 0xff).isEqualTo(0 | 15 << 4);
    assertThat(q[3] & 0xff).isEqualTo(15 | 5 << 4);
    assertThat(q[4] & 0xff).isEqualTo(8 | 8 << 4);
    assertThat(q[5] & 0xff).isEqualTo(9 | 8 << 4);
    assertThat(q[6] & 0xff).isEqualTo(7 | 8 << 4);
  }

  @Test
  void quantizesQ4_0WithAPositiveMaximumToANegativeScale() {
    float[] x = new float[32];
    x[0] = 4f; // d = 4 / -8 = -0.5 (F16 0xB800), id = -2
    x[1] = -4f; // -4 * -2 + 8.5 = 16.5 -> 16 -> 15
    x[2] = 1f; // -2 + 8.5 = 6.5 -> 6
    byte[] q = GgmlCodec.encode(GgmlType.Q4_0, x);
    assertThat(q[0]).isEqualTo((byte) 0x00);
    assertThat(q[1]).isEqualTo((byte) 0xB8);
    assertThat(q[2] & 0x0f).isEqualTo(0); // 4 * -2 + 8.5 = 0.5 -> 0
    assertThat(q[3] & 0x0f).isEqualTo(15);
    assertThat(q[4] & 0x0f).isEqualTo(6);
    float[] back = new float[32];
    GgmlCodec.decode(GgmlType.Q4_0, seg(q), 0, back, 0, 32);
    assertThat(back[0]).isEqualTo(4f);
    assertThat(back[1]).isEqualTo(-3.5f);
    assertThat(back[2]).isEqualTo(1f);
  }

  @Test
  void quantizesAnAllZeroBlockToZeroScale() {
    float[] zeros = new float[32];
    byte[] q8 = GgmlCodec.encode(GgmlType.Q8_0, zeros);
    byte[] q4 = GgmlCodec.encode(GgmlType.Q4_0, zeros);
    assertThat(q8).containsOnly(0);
    // d = 0 / -8 = -0.0 in llama.cpp too: F16 0x8000.
    assertThat(q4[0]).isZero();
    assertThat(q4[1]).isEqualTo((byte) 0x80);
    for (int j = 2; j < 18; j++) {
      assertThat(q4[j]).isEqualTo((byte) 0x88);
    }
  }

  @Test
  void encodesF16AsIeeeHalfLittleEndian() {
    byte[] b = GgmlCodec.encode(GgmlType.F16, new float[] {1f, -2.5f, 65504f, 1f / 3});
    assertThat(b).containsExactly(0x00, 0x3C, 0x00, 0xC1, 0xFF, 0x7B, 0x55, 0x35);
    float[] back = new float[4];
    GgmlCodec.decode(GgmlType.F16, seg(b), 0, back, 0, 4);
    assertThat(back).containsExactly(1f, -2.5f, 65504f, 0.333251953125f);
  }

  @Test
  void roundsBf16ToNearestEvenAndKeepsNaN() {
    assertThat(GgmlCodec.floatToBf16(1f)).isEqualTo((short) 0x3F80);
    // Ties: 0x3F808000 is halfway between 0x3F80 and 0x3F81 -> even 0x3F80.
    assertThat(GgmlCodec.floatToBf16(Float.intBitsToFloat(0x3F808000))).isEqualTo((short) 0x3F80);
    assertThat(GgmlCodec.floatToBf16(Float.intBitsToFloat(0x3F818000))).isEqualTo((short) 0x3F82);
    assertThat(GgmlCodec.floatToBf16(Float.intBitsToFloat(0x3F808001))).isEqualTo((short) 0x3F81);
    assertThat(GgmlCodec.bf16ToFloat(GgmlCodec.floatToBf16(Float.NaN))).isNaN();
    assertThat(GgmlCodec.bf16ToFloat(GgmlCodec.floatToBf16(Float.intBitsToFloat(0x7F800001))))
        .isNaN();
    assertThat(GgmlCodec.bf16ToFloat(GgmlCodec.floatToBf16(Float.NEGATIVE_INFINITY)))
        .isEqualTo(Float.NEGATIVE_INFINITY);
    byte[] b = GgmlCodec.encode(GgmlType.BF16, new float[] {-2f, 3.140625f});
    assertThat(b).containsExactly(0x00, 0xC0, 0x49, 0x40);
  }

  @Test
  void encodesF32AsLittleEndianBits() {
    byte[] b = GgmlCodec.encode(GgmlType.F32, new float[] {1f, -0f});
    assertThat(b).containsExactly(0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x80);
  }

  @Test
  void quantizedRoundTripsStayWithinHalfAStepOfTheInput() {
    SplittableRandom r = new SplittableRandom(7);
    float[] x = new float[32 * 64];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextDouble() * 2 - 1) * (1 + i / 32);
    }
    for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
      byte[] q = GgmlCodec.encode(t, x);
      float[] back = new float[x.length];
      GgmlCodec.decode(t, seg(q), 0, back, 0, x.length);
      for (int b = 0; b < x.length / 32; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
          amax = Math.max(amax, Math.abs(x[b * 32 + j]));
        }
        float step = t == GgmlType.Q8_0 ? amax / 127 : amax / 8;
        for (int j = 0; j < 32; j++) {
          // Q4_0 clamps the top nibble at 15, so the far side of the range may lose a full step.
          float tolerance = (t == GgmlType.Q8_0 ? 0.51f : 1.01f) * step + 1e-3f * amax;
          assertThat(back[b * 32 + j]).isCloseTo(x[b * 32 + j], within(tolerance));
        }
      }
    }
  }

  @Test
  void rejectsLengthsThatAreNotWholeBlocks() {
    assertThatThrownBy(() -> GgmlCodec.encode(GgmlType.Q4_0, new float[33]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("32");
  }
}
