package dev.duet.engine.bench;

import dev.duet.engine.tensor.ComputePool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Measures memory bandwidth with a large copy split over the compute threads (the threads decode
 * uses), counted the STREAM way: bytes read plus bytes written, over the time.
 */
public final class BandwidthProbe {

  private final ComputePool pool;

  public BandwidthProbe(ComputePool pool) {
    this.pool = pool;
  }

  /** Best of {@code reps} copies of {@code bytes} bytes, in GB/s (1e9 bytes). */
  public double copyGbps(long bytes, int reps) {
    try (Arena arena = Arena.ofShared()) {
      MemorySegment src = arena.allocate(bytes, 4096);
      MemorySegment dst = arena.allocate(bytes, 4096);
      src.fill((byte) 1);
      dst.fill((byte) 2);
      int parts = pool.threads() * 16;
      double best = 0;
      for (int r = 0; r < reps; r++) {
        long t0 = System.nanoTime();
        pool.parallelFor(
            parts,
            1,
            (from, to) -> {
              for (int p = from; p < to; p++) {
                long lo = bytes * p / parts;
                long hi = bytes * (p + 1) / parts;
                MemorySegment.copy(src, lo, dst, lo, hi - lo);
              }
            });
        double seconds = (System.nanoTime() - t0) / 1e9;
        best = Math.max(best, 2.0 * bytes / seconds / 1e9);
      }
      return best;
    }
  }
}
