package dev.duet.engine.kv;

/**
 * Conversions between {@code float} and bfloat16 (the upper 16 bits of a binary32), rounding to
 * nearest, ties to even. NaN stays NaN (quiet); infinities and signed zeros are kept; finite values
 * above the largest bfloat16 round to infinity. Stateless and thread-safe.
 */
final class Bf16 {
  private Bf16() {}

  /** The bfloat16 bits nearest to {@code value}. */
  static short fromFloat(float value) {
    int bits = Float.floatToRawIntBits(value);
    if ((bits & 0x7fff_ffff) > 0x7f80_0000) {
      // NaN: keep sign and top payload bits, force the quiet bit so it cannot become infinity.
      return (short) ((bits >>> 16) | 0x0040);
    }
    int lsb = (bits >>> 16) & 1;
    return (short) ((bits + 0x7fff + lsb) >>> 16);
  }

  /** The float that bfloat16 {@code bits} denotes (exact). */
  static float toFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }
}
