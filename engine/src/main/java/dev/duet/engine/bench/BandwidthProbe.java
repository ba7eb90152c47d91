package dev.duet.engine.bench;

import dev.duet.engine.tensor.ComputePool;
import dev.duet.engine.tensor.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Measures memory bandwidth over a buffer far larger than the caches, split over the compute
 * threads (the threads decode uses).
 *
 * <ul>
 *   <li>{@link #copyGbps}: a large {@code MemorySegment.copy}, in bytes copied per second (the
 *       usual memcpy figure; each byte is read once and written once).
 *   <li>{@link #readGbps}: a pure streaming read (dot products over the buffer), in bytes read per
 *       second: what a decode step, which only reads weights, can hope for.
 * </ul>
 */
public final class BandwidthProbe {

  private static final int CHUNK_FLOATS = 1 << 16;

  private final ComputePool pool;

  public BandwidthProbe(ComputePool pool) {
    this.pool = pool;
  }

  /** Best of {@code reps} copies of {@code bytes} bytes, in GB/s (1e9 bytes copied per second). */
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
        best = Math.max(best, bytes / ((System.nanoTime() - t0) / 1e9) / 1e9);
      }
      return best;
    }
  }

  /** Best of {@code reps} streaming reads of {@code bytes} bytes, in GB/s. */
  public double readGbps(long bytes, int reps) {
    long chunkBytes = 4L * CHUNK_FLOATS;
    int chunks = (int) (bytes / chunkBytes);
    float[] ones = new float[CHUNK_FLOATS];
    java.util.Arrays.fill(ones, 1f);
    float[] sink = new float[chunks];
    Kernels k = Kernels.get();
    try (Arena arena = Arena.ofShared()) {
      MemorySegment src = arena.allocate(chunks * chunkBytes, 4096);
      src.fill((byte) 1);
      double best = 0;
      for (int r = 0; r < reps; r++) {
        long t0 = System.nanoTime();
        pool.parallelFor(
            chunks,
            1,
            (from, to) -> {
              for (int c = from; c < to; c++) {
                sink[c] = k.dot(src, c * chunkBytes, ones, 0, CHUNK_FLOATS);
              }
            });
        best = Math.max(best, chunks * chunkBytes / ((System.nanoTime() - t0) / 1e9) / 1e9);
      }
      return best;
    }
  }
}
