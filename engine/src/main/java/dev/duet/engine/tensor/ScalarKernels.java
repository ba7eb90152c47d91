package dev.duet.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Plain-Java kernels: the fallback when the Vector API is unavailable. Each dot product is one
 * left-to-right chain of fused multiply-adds, and the tiled kernels call it per output, so they are
 * batch-invariant by construction.
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
  public void dot4x4(
      MemorySegment w,
      long wOff,
      long wStride,
      float[] x,
      int xOff,
      int xStride,
      int n,
      float[] out,
      int outOff,
      int outStride) {
    for (int k = 0; k < 4; k++) {
      for (int j = 0; j < 4; j++) {
        out[outOff + k * outStride + j] = dot(w, wOff + j * wStride, x, xOff + k * xStride, n);
      }
    }
  }

  @Override
  public void dot4x1(
      MemorySegment w,
      long wOff,
      long wStride,
      float[] x,
      int xOff,
      int n,
      float[] out,
      int outOff) {
    for (int j = 0; j < 4; j++) {
      out[outOff + j] = dot(w, wOff + j * wStride, x, xOff, n);
    }
  }

  @Override
  public void dot1x4(
      MemorySegment w,
      long wOff,
      float[] x,
      int xOff,
      int xStride,
      int n,
      float[] out,
      int outOff,
      int outStride) {
    for (int k = 0; k < 4; k++) {
      out[outOff + k * outStride] = dot(w, wOff, x, xOff + k * xStride, n);
    }
  }

  @Override
  public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum = Math.fma(a[aOff + i], b[bOff + i], sum);
    }
    return sum;
  }

  @Override
  public void axpy(float a, MemorySegment x, long xOff, float[] y, int yOff, int n) {
    for (int i = 0; i < n; i++) {
      y[yOff + i] = Math.fma(x.get(F32, xOff + 4L * i), a, y[yOff + i]);
    }
  }

  @Override
  public void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
    for (int i = 0; i < n; i++) {
      y[yOff + i] = Math.fma(x[xOff + i], a, y[yOff + i]);
    }
  }
}
