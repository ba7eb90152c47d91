package dev.duet.engine.sampling;

/**
 * The per-request random number generator: xoshiro256** (Blackman and Vigna), with its four state
 * words filled from the seed by SplitMix64. Fast, 256 bits of state, passes BigCrush, and its whole
 * state is exposed through {@link #state()} / {@link #restore(RngState)} so a request can move to
 * another machine and continue the identical stream of draws.
 *
 * <p>Not thread-safe: each request owns its generator.
 */
public final class SamplerRng {

  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
  private static final double DOUBLE_UNIT = 0x1.0p-53;

  private long s0;
  private long s1;
  private long s2;
  private long s3;

  /**
   * A generator seeded from {@code seed}: the state words are the first four outputs of SplitMix64
   * started at {@code seed}.
   */
  public SamplerRng(long seed) {
    long x = seed;
    x += GOLDEN_GAMMA;
    s0 = mix64(x);
    x += GOLDEN_GAMMA;
    s1 = mix64(x);
    x += GOLDEN_GAMMA;
    s2 = mix64(x);
    x += GOLDEN_GAMMA;
    s3 = mix64(x);
    if ((s0 | s1 | s2 | s3) == 0) {
      // Cannot happen (mix64 is a bijection of distinct inputs), kept as a guard.
      s0 = GOLDEN_GAMMA;
    }
  }

  private SamplerRng(RngState state) {
    s0 = state.s0();
    s1 = state.s1();
    s2 = state.s2();
    s3 = state.s3();
  }

  /** A generator that continues exactly from {@code state}. */
  public static SamplerRng restore(RngState state) {
    if (state == null) {
      throw new IllegalArgumentException("rng state must not be null, got null");
    }
    return new SamplerRng(state);
  }

  /** The current state; restoring it replays every draw after this point. */
  public RngState state() {
    return new RngState(s0, s1, s2, s3);
  }

  /** The next 64 uniformly random bits. */
  public long nextLong() {
    long result = Long.rotateLeft(s1 * 5, 7) * 9;
    long t = s1 << 17;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = Long.rotateLeft(s3, 45);
    return result;
  }

  /** A uniform double in [0, 1) built from the top 53 bits of {@link #nextLong()}. */
  public double nextDouble() {
    return (nextLong() >>> 11) * DOUBLE_UNIT;
  }

  /** The SplitMix64 output function (Stafford variant 13). */
  static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
