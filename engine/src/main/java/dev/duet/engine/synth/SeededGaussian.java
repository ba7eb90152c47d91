package dev.duet.engine.synth;

import java.nio.charset.StandardCharsets;

/**
 * Reproducible, roughly normal numbers for synthetic weights: SplitMix64 for the bits, and the sum
 * of four 16-bit uniforms (Irwin-Hall, mean 0, unit variance, range ±3.46) for the shape. Only
 * integer and basic IEEE arithmetic are used, so the same seed gives the same floats on every JVM
 * and CPU, and hence byte-identical model files.
 *
 * <p>Not thread-safe: one instance per tensor.
 */
final class SeededGaussian {
  private static final double SCALE = Math.sqrt(3.0) / 65536.0; // unit variance for 4 u16 sums

  private long state;

  /** A generator for the tensor {@code name} of the model made from {@code seed}. */
  SeededGaussian(long seed, String name) {
    this.state = seed ^ fnv1a64(name);
  }

  /** SplitMix64 step. */
  long nextLong() {
    long z = (state += 0x9E3779B97F4A7C15L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** A roughly standard-normal value (mean 0, variance 1). */
  double nextGaussian() {
    long bits = nextLong();
    long sum =
        (bits & 0xffff) + ((bits >>> 16) & 0xffff) + ((bits >>> 32) & 0xffff) + (bits >>> 48);
    return (sum - 4 * 32767.5) * SCALE; // each u16 has mean 32767.5
  }

  /** {@code n} values with mean {@code mean} and standard deviation {@code std}. */
  float[] fill(int n, float mean, float std) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) (mean + std * nextGaussian());
    }
    return out;
  }

  /** 64-bit FNV-1a of the UTF-8 bytes: a hash that never changes between JDKs. */
  static long fnv1a64(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }
}
