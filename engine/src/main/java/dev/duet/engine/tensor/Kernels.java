package dev.duet.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The inner loops of the forward pass: dot products and scaled adds over F32 data.
 *
 * <p><b>Batch invariance.</b> Every result is a function of its inputs only: a dot product sums its
 * terms in one fixed order that depends on nothing but the length {@code n} (never on where the
 * data sits, on other rows of a batch, or on the thread), and {@link #dot4} performs, for each of
 * its four rows, exactly the operations {@link #dot} performs for one. Reductions across vector
 * lanes use explicit shuffles in a fixed tree, never {@code reduceLanes}, whose order is
 * unspecified. So a row's logits are bit-identical alone or in any batch.
 *
 * <p>Two implementations: {@link VectorKernels} (the Vector API) and {@link ScalarKernels} (plain
 * Java, used when the {@code jdk.incubator.vector} module is absent or {@code
 * -Dduet.engine.vector=false}). They are not bit-identical to each other; one process uses one.
 *
 * <p>Weights are read from a {@link MemorySegment} (a memory-mapped file or a heap array wrapped by
 * {@link MemorySegment#ofArray(float[])}), little-endian F32, byte offsets.
 */
public interface Kernels {

  /** Returns {@code sum_i w[wOff + 4i] * x[xOff + i]} for {@code i < n}. */
  float dot(MemorySegment w, long wOff, float[] x, int xOff, int n);

  /**
   * Four dot products of one weight row with four rows of {@code x}: {@code out[outOff +
   * k*outStride] = dot(w, wOff, x, xOff + k*xStride, n)} for {@code k < 4}, bit for bit.
   */
  void dot4(
      MemorySegment w, long wOff, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
      int outStride);

  /** {@code y[yOff + i] += a * x[xOff + 4i]} for {@code i < n} (x read from a segment). */
  void axpy(float a, MemorySegment x, long xOff, float[] y, int yOff, int n);

  /** The kernels this process uses. */
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
