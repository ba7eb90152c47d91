package dev.duet.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The inner loops of the forward pass: dot products and scaled adds over F32 data.
 *
 * <p><b>Batch invariance.</b> Every result is a function of its inputs only. A dot product of
 * length {@code n} is always computed the same way: one vector accumulator takes the full vectors
 * in order with fused multiply-adds, its lanes are summed by a fixed shuffle tree (never {@code
 * reduceLanes}, whose order is unspecified and differs between interpreted and compiled code), and
 * the scalar tail is added left to right with {@code Math.fma}. The tiled kernels ({@link #dot4x4},
 * {@link #dot4x1}, {@link #dot1x4}) compute several such dot products at once, sharing loads, but
 * perform for each output exactly the operations of {@link #dot}. So a row's result does not depend
 * on which other rows share its batch or its tile.
 *
 * <p>Two implementations: {@link VectorKernels} (the Vector API) and {@link ScalarKernels} (plain
 * Java, used when the {@code jdk.incubator.vector} module is absent or {@code
 * -Dduet.engine.vector=false}). They are not bit-identical to each other; one process uses one.
 *
 * <p>Weights are read from native {@link MemorySegment}s (memory-mapped files, off-heap scratch),
 * little-endian F32, at byte offsets; activations are float arrays. Keeping heap segments out of
 * the segment kernels keeps their call sites monomorphic, which the JIT needs to vectorize them.
 */
public interface Kernels {

  /** Returns {@code sum_i w[wOff + 4i] * x[xOff + i]} for {@code i < n}. */
  float dot(MemorySegment w, long wOff, float[] x, int xOff, int n);

  /**
   * Sixteen dot products: weight rows {@code j < 4} at {@code wOff + j*wStride} (bytes) with
   * activation rows {@code k < 4} at {@code xOff + k*xStride}; the result for (j, k) goes to {@code
   * out[outOff + k*outStride + j]}, bit for bit {@link #dot} of that pair.
   */
  void dot4x4(
      MemorySegment w,
      long wOff,
      long wStride,
      float[] x,
      int xOff,
      int xStride,
      int n,
      float[] out,
      int outOff,
      int outStride);

  /** {@link #dot4x4} with one activation row: {@code out[outOff + j]} for {@code j < 4}. */
  void dot4x1(
      MemorySegment w,
      long wOff,
      long wStride,
      float[] x,
      int xOff,
      int n,
      float[] out,
      int outOff);

  /** {@link #dot4x4} with one weight row: {@code out[outOff + k*outStride]} for {@code k < 4}. */
  void dot1x4(
      MemorySegment w,
      long wOff,
      float[] x,
      int xOff,
      int xStride,
      int n,
      float[] out,
      int outOff,
      int outStride);

  /** Returns {@code sum_i a[aOff + i] * b[bOff + i]}, in the same order as {@link #dot}. */
  float dot(float[] a, int aOff, float[] b, int bOff, int n);

  /** {@code y[yOff + i] += a * x[xOff + 4i]} for {@code i < n} (x read from a native segment). */
  void axpy(float a, MemorySegment x, long xOff, float[] y, int yOff, int n);

  /** {@code y[yOff + i] += a * x[xOff + i]} for {@code i < n}. */
  void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n);

  /** The kernels this process uses. */
  /**
   * {@code out[outOff + j] = dot(w, wOff + j * wStride, x, xOff, n)} for {@code j < count}: the dot
   * products of one vector with {@code count} rows at a stride (a query against the keys of a cache
   * block). Each result is bit-identical to the single {@link #dot(MemorySegment, long, float[],
   * int, int)}; one call keeps the loop in one compiled method.
   */
  default void dotRows(
      MemorySegment w,
      long wOff,
      long wStride,
      int count,
      float[] x,
      int xOff,
      int n,
      float[] out,
      int outOff) {
    for (int j = 0; j < count; j++) {
      out[outOff + j] = dot(w, wOff + j * wStride, x, xOff, n);
    }
  }

  /**
   * {@code axpy(a[aOff + j], x, xOff + j * xStride, y, yOff, n)} for {@code j = 0, 1, ..., count -
   * 1} in that order (the attention-weighted sum of a cache block's values), with results
   * bit-identical to those calls.
   */
  default void axpyRows(
      float[] a,
      int aOff,
      int count,
      MemorySegment x,
      long xOff,
      long xStride,
      float[] y,
      int yOff,
      int n) {
    for (int j = 0; j < count; j++) {
      axpy(a[aOff + j], x, xOff + j * xStride, y, yOff, n);
    }
  }

  static Kernels get() {
    return Holder.INSTANCE;
  }

  /** Whether {@link #get()} is the Vector API implementation. */
  static boolean vectorized() {
    return Holder.INSTANCE instanceof VectorKernels;
  }

  /** Chooses the implementation once, at first use. */
  final class Holder {
    static final Kernels INSTANCE = choose();

    private Holder() {}

    private static Kernels choose() {
      if (!Boolean.parseBoolean(System.getProperty("duet.engine.vector", "true"))) {
        return new ScalarKernels();
      }
      if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
        System.getLogger(Kernels.class.getName())
            .log(
                System.Logger.Level.WARNING,
                "jdk.incubator.vector is not available (run java with --add-modules"
                    + " jdk.incubator.vector): using the slower scalar kernels");
        return new ScalarKernels();
      }
      return new VectorKernels();
    }
  }
}
