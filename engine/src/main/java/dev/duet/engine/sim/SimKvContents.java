package dev.duet.engine.sim;

import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvSequence;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * What the emulated model writes into, and reads back from, the paged KV cache.
 *
 * <p>Each position {@code p} of a sequence has a <i>prefix hash</i> {@code h(p) = mix(h(p−1),
 * token, p)} with {@code h(−1)} a constant, so it is a function of the whole context up to {@code
 * p}, as a real model's K/V are. Its K and V rows in every layer are bytes drawn from {@code h(p)},
 * the layer and K/V; the first eight bytes of layer 0's K row are {@code h(p)} itself, which is how
 * the next position finds {@code h(p)}: by reading it back from the cache. The next token's logits
 * come from a checksum of bytes at sampled positions in every layer (the last two, the first, and
 * five more chosen by {@code h(p)}), so K/V that a transfer lost or corrupted change the tokens.
 *
 * <p>Stateless apart from the cache it is given; the caller orders writes before reads (one forward
 * pass at a time).
 */
final class SimKvContents {

  private static final ValueLayout.OfLong LONG =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  /** {@code h(−1)}: the hash before the first position. */
  static final long ROOT = 0x243F6A8885A308D3L;

  /** Positions beyond the last two and the first that each checksum samples. */
  static final int SAMPLED_POSITIONS = 5;

  private SimKvContents() {}

  /** SplitMix64's finalizer: a bijective 64-bit mix. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** {@code h(p)} from {@code h(p−1)}, the token at {@code p} and {@code p}. */
  static long next(long previous, int token, int pos) {
    return mix(previous ^ mix(((long) token << 32 | pos) + GOLDEN));
  }

  /** {@code h(pos)} as the cache holds it (layer 0's K row at {@code pos}). */
  static long read(KvCachePool cache, KvSequence kv, int pos) {
    return cache.segment().get(LONG, kv.keyOffset(0, pos));
  }

  /** Writes position {@code pos}'s K and V rows of {@code layer}, drawn from {@code h}. */
  static void write(KvCachePool cache, KvSequence kv, int pos, int layer, long h) {
    MemorySegment seg = cache.segment();
    long rowBytes = cache.layout().rowBytes();
    fill(seg, kv.keyOffset(layer, pos), rowBytes, mix(h ^ (2L * layer + 1) * GOLDEN));
    fill(seg, kv.valueOffset(layer, pos), rowBytes, mix(h ^ (2L * layer + 2) * GOLDEN));
    if (layer == 0) {
      seg.set(LONG, kv.keyOffset(0, pos), h);
    }
  }

  private static void fill(MemorySegment seg, long offset, long bytes, long seed) {
    long i = 0;
    long s = seed;
    for (; i + Long.BYTES <= bytes; i += Long.BYTES) {
      s += GOLDEN;
      seg.set(LONG, offset + i, mix(s));
    }
    for (long r = mix(s + GOLDEN); i < bytes; i++, r >>>= 8) {
      seg.set(BYTE, offset + i, (byte) r);
    }
  }

  /**
   * The checksum the next token after {@code pos} is drawn from: {@code h}, then for each sampled
   * position and each layer, the first eight bytes of its K row and the last eight of its V row.
   * Every position up to {@code pos} must be in the cache.
   */
  static long checksum(KvCachePool cache, KvSequence kv, int pos, long h) {
    MemorySegment seg = cache.segment();
    long rowBytes = cache.layout().rowBytes();
    int layers = cache.layout().numLayers();
    long tail = Math.max(0, rowBytes - Long.BYTES);
    long acc = mix(h);
    for (int i = 0; i < 3 + SAMPLED_POSITIONS; i++) {
      int q =
          switch (i) {
            case 0 -> pos;
            case 1 -> Math.max(0, pos - 1);
            case 2 -> 0;
            default -> (int) Math.floorMod(mix(h + i * GOLDEN), (long) pos + 1);
          };
      for (int l = 0; l < layers; l++) {
        acc = mix(acc ^ seg.get(LONG, kv.keyOffset(l, q)));
        acc = mix(acc ^ seg.get(LONG, kv.valueOffset(l, q) + tail));
      }
    }
    return acc;
  }
}
