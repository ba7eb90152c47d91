package dev.duet.engine.sampling;

/**
 * The complete state of a {@link SamplerRng}: the four 64-bit words of xoshiro256**. Saving it and
 * {@link SamplerRng#restore restoring} it later (on this or another machine) continues the exact
 * same stream of draws, which is what live migration of a request needs.
 *
 * <p>Immutable; safe to share between threads. The all-zero state is rejected because xoshiro256**
 * would emit zero forever from it.
 */
public record RngState(long s0, long s1, long s2, long s3) {

  /** Number of longs in {@link #toLongArray()}. */
  public static final int LONGS = 4;

  public RngState {
    if ((s0 | s1 | s2 | s3) == 0) {
      throw new IllegalArgumentException(
          "xoshiro256** state must not be all zero, got [0, 0, 0, 0]");
    }
  }

  /** The state as {@code [s0, s1, s2, s3]}, for serialization. */
  public long[] toLongArray() {
    return new long[] {s0, s1, s2, s3};
  }

  /** The inverse of {@link #toLongArray()}. */
  public static RngState fromLongArray(long[] words) {
    if (words == null || words.length != LONGS) {
      throw new IllegalArgumentException(
          "rng state must have "
              + LONGS
              + " longs, got "
              + (words == null ? "null" : words.length + ""));
    }
    return new RngState(words[0], words[1], words[2], words[3]);
  }
}
