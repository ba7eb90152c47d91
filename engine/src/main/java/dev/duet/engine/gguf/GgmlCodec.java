package dev.duet.engine.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Encodes floats into, and decodes floats from, the on-disk layout of each {@link GgmlType}.
 *
 * <p>Quantization follows llama.cpp's reference kernels ({@code quantize_row_q8_0_ref}, {@code
 * quantize_row_q4_0_ref}) bit for bit, so files written here hold what llama.cpp would write.
 * Dequantization is exact: Q8_0 gives {@code d*q}, Q4_0 gives {@code d*(nibble-8)}, with {@code d}
 * the block's F16 scale widened to float. Stateless; thread-safe.
 */
public final class GgmlCodec {
  static final ValueLayout.OfShort SHORT_LE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfFloat FLOAT_LE =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private GgmlCodec() {}

  /**
   * Encodes {@code values} as {@code type}; the length must be a multiple of the block size.
   *
   * @return {@code type.bytesFor(values.length)} bytes, little-endian
   */
  public static byte[] encode(GgmlType type, float[] values) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(values, "values");
    long size = type.bytesFor(values.length);
    if (size > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(
          values.length + " " + type + " values do not fit a byte[]");
    }
    byte[] out = new byte[(int) size];
    MemorySegment dst = MemorySegment.ofArray(out);
    switch (type) {
      case F32 -> MemorySegment.copy(values, 0, dst, FLOAT_LE, 0, values.length);
      case F16 -> {
        for (int i = 0; i < values.length; i++) {
          dst.set(SHORT_LE, 2L * i, Float.floatToFloat16(values[i]));
        }
      }
      case BF16 -> {
        for (int i = 0; i < values.length; i++) {
          dst.set(SHORT_LE, 2L * i, floatToBf16(values[i]));
        }
      }
      case Q8_0 -> encodeQ8_0(values, dst);
      case Q4_0 -> encodeQ4_0(values, dst);
    }
    return out;
  }

  /**
   * Decodes {@code count} elements of {@code type} starting at byte {@code byteOffset} of {@code
   * src} into {@code dst[dstOffset .. dstOffset+count)}; {@code count} must be a multiple of the
   * block size and {@code byteOffset} should be at a block boundary.
   */
  public static void decode(
      GgmlType type, MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
    Objects.requireNonNull(type, "type");
    Objects.checkFromIndexSize(dstOffset, count, dst.length);
    long bytes = type.bytesFor(count);
    Objects.checkFromIndexSize(byteOffset, bytes, src.byteSize());
    switch (type) {
      case F32 -> MemorySegment.copy(src, FLOAT_LE, byteOffset, dst, dstOffset, count);
      case F16 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = Float.float16ToFloat(src.get(SHORT_LE, byteOffset + 2L * i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = bf16ToFloat(src.get(SHORT_LE, byteOffset + 2L * i));
        }
      }
      case Q8_0 -> decodeQ8_0(src, byteOffset, dst, dstOffset, count);
      case Q4_0 -> decodeQ4_0(src, byteOffset, dst, dstOffset, count);
    }
  }

  /** Rounds a float to bfloat16 (nearest, ties to even), keeping NaN a (quiet) NaN. */
  public static short floatToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if ((bits & 0x7fffffff) > 0x7f800000) {
      return (short) ((bits >>> 16) | 64);
    }
    return (short) ((bits + (0x7fff + ((bits >>> 16) & 1))) >>> 16);
  }

  /** Widens a bfloat16 bit pattern to float (exact). */
  public static float bf16ToFloat(short bf16) {
    return Float.intBitsToFloat((bf16 & 0xffff) << 16);
  }

  // Block: F16 d (2 bytes) + 32 x int8 q; q = roundf(x / d) with d = amax / 127.
  private static void encodeQ8_0(float[] x, MemorySegment dst) {
    int qk = GgmlType.Q8_0.blockSize();
    int blockBytes = GgmlType.Q8_0.blockBytes();
    for (int b = 0; b < x.length / qk; b++) {
      int base = b * qk;
      float amax = 0f;
      for (int j = 0; j < qk; j++) {
        amax = Math.max(amax, Math.abs(x[base + j]));
      }
      float d = amax / 127f;
      float id = d != 0f ? 1f / d : 0f;
      long at = (long) b * blockBytes;
      dst.set(SHORT_LE, at, Float.floatToFloat16(d));
      for (int j = 0; j < qk; j++) {
        dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundHalfAway(x[base + j] * id));
      }
    }
  }

  // Block: F16 d (2 bytes) + 16 bytes of nibbles; d = max / -8 where max has the largest |x|.
  private static void encodeQ4_0(float[] x, MemorySegment dst) {
    int qk = GgmlType.Q4_0.blockSize();
    int blockBytes = GgmlType.Q4_0.blockBytes();
    for (int b = 0; b < x.length / qk; b++) {
      int base = b * qk;
      float amax = 0f;
      float max = 0f;
      for (int j = 0; j < qk; j++) {
        float v = x[base + j];
        if (amax < Math.abs(v)) {
          amax = Math.abs(v);
          max = v;
        }
      }
      float d = max / -8f;
      float id = d != 0f ? 1f / d : 0f;
      long at = (long) b * blockBytes;
      dst.set(SHORT_LE, at, Float.floatToFloat16(d));
      for (int j = 0; j < qk / 2; j++) {
        // (int8_t) casts truncate toward zero, as Java's (int) does for in-range values.
        int lo = Math.min(15, (int) (x[base + j] * id + 8.5f));
        int hi = Math.min(15, (int) (x[base + qk / 2 + j] * id + 8.5f));
        dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (lo | (hi << 4)));
      }
    }
  }

  private static void decodeQ8_0(
      MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
    int qk = GgmlType.Q8_0.blockSize();
    int blockBytes = GgmlType.Q8_0.blockBytes();
    for (int b = 0; b < count / qk; b++) {
      long at = byteOffset + (long) b * blockBytes;
      float d = Float.float16ToFloat(src.get(SHORT_LE, at));
      int out = dstOffset + b * qk;
      for (int j = 0; j < qk; j++) {
        dst[out + j] = d * src.get(ValueLayout.JAVA_BYTE, at + 2 + j);
      }
    }
  }

  private static void decodeQ4_0(
      MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
    int qk = GgmlType.Q4_0.blockSize();
    int blockBytes = GgmlType.Q4_0.blockBytes();
    for (int b = 0; b < count / qk; b++) {
      long at = byteOffset + (long) b * blockBytes;
      float d = Float.float16ToFloat(src.get(SHORT_LE, at));
      int out = dstOffset + b * qk;
      for (int j = 0; j < qk / 2; j++) {
        int packed = src.get(ValueLayout.JAVA_BYTE, at + 2 + j) & 0xff;
        dst[out + j] = ((packed & 0x0f) - 8) * d;
        dst[out + qk / 2 + j] = ((packed >>> 4) - 8) * d;
      }
    }
  }

  /** C {@code roundf}: nearest integer, halfway cases away from zero. */
  private static int roundHalfAway(float v) {
    int magnitude = Math.round(Math.abs(v));
    return v < 0 ? -magnitude : magnitude;
  }
}
