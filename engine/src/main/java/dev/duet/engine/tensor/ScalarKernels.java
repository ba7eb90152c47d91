package dev.duet.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Plain-Java kernels: the fallback when the Vector API is unavailable. Each dot product is one
 * left-to-right chain of fused multiply-adds, so it is batch-invariant by construction.
 */
final class ScalarKernels implements Kernels {

  private static final ValueLayout.OfFloat F32 =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  @Override
  public float dot(MemorySegment w, long wOff, float[] x, int xOff, int n) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum = Math.fma(w.get(F32, wOff + 4L * i), x[xOff + i], sum);
    }
    return sum;
  }

  @Override
  public void dot4(
      MemorySegment w, long wOff, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
      int outStride) {
    for (int k = 0; k < 4; k++) {
      out[outOff + k * outStride] = dot(w, wOff, x, xOff + k * xStride, n);
    }
  }

  @Override
  public void axpy(float a, MemorySegment x, long xOff, float[] y, int yOff, int n) {
    for (int i = 0; i < n; i++) {
      y[yOff + i] = Math.fma(a, x.get(F32, xOff + 4L * i), y[yOff + i]);
    }
  }
}
