package dev.duet.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels on the Vector API, at the platform's preferred width (16 floats with AVX-512).
 *
 * <p>The order of a dot product of length n, with L lanes: two accumulators take alternate vectors
 * (acc0 the even ones, acc1 the odd ones) with fused multiply-adds; a last odd vector goes into
 * acc0; then acc0 + acc1, a fixed shuffle tree across lanes, and the scalar tail, left to right,
 * with {@code Math.fma}. {@link #dot4} runs that same sequence for each of its four rows.
 */
final class VectorKernels implements Kernels {

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int L = S.length();
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

  /** Rotations by L/2, L/4, ..., 1 lanes: the fixed tree that sums a vector's lanes. */
  private static final VectorShuffle<Float>[] FOLDS = folds();

  @SuppressWarnings("unchecked")
  private static VectorShuffle<Float>[] folds() {
    int steps = Integer.numberOfTrailingZeros(L);
    VectorShuffle<Float>[] folds = new VectorShuffle[steps];
    for (int s = 0, half = L / 2; s < steps; s++, half /= 2) {
      folds[s] = VectorShuffle.iota(S, half, 1, true);
    }
    return folds;
  }

  private static float sumLanes(FloatVector v) {
    for (VectorShuffle<Float> fold : FOLDS) {
      v = v.add(v.rearrange(fold));
    }
    return v.lane(0);
  }

  @Override
  public float dot(MemorySegment w, long wOff, float[] x, int xOff, int n) {
    FloatVector acc0 = FloatVector.zero(S);
    FloatVector acc1 = FloatVector.zero(S);
    int i = 0;
    for (; i + 2 * L <= n; i += 2 * L) {
      FloatVector w0 = FloatVector.fromMemorySegment(S, w, wOff + 4L * i, LE);
      FloatVector w1 = FloatVector.fromMemorySegment(S, w, wOff + 4L * (i + L), LE);
      acc0 = w0.fma(FloatVector.fromArray(S, x, xOff + i), acc0);
      acc1 = w1.fma(FloatVector.fromArray(S, x, xOff + i + L), acc1);
    }
    if (i + L <= n) {
      FloatVector w0 = FloatVector.fromMemorySegment(S, w, wOff + 4L * i, LE);
      acc0 = w0.fma(FloatVector.fromArray(S, x, xOff + i), acc0);
      i += L;
    }
    float sum = sumLanes(acc0.add(acc1));
    for (; i < n; i++) {
      sum = Math.fma(w.get(F32, wOff + 4L * i), x[xOff + i], sum);
    }
    return sum;
  }

  @Override
  public void dot4(
      MemorySegment w, long wOff, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
      int outStride) {
    int x0 = xOff;
    int x1 = xOff + xStride;
    int x2 = xOff + 2 * xStride;
    int x3 = xOff + 3 * xStride;
    FloatVector a0 = FloatVector.zero(S);
    FloatVector b0 = FloatVector.zero(S);
    FloatVector a1 = FloatVector.zero(S);
    FloatVector b1 = FloatVector.zero(S);
    FloatVector a2 = FloatVector.zero(S);
    FloatVector b2 = FloatVector.zero(S);
    FloatVector a3 = FloatVector.zero(S);
    FloatVector b3 = FloatVector.zero(S);
    int i = 0;
    for (; i + 2 * L <= n; i += 2 * L) {
      FloatVector w0 = FloatVector.fromMemorySegment(S, w, wOff + 4L * i, LE);
      FloatVector w1 = FloatVector.fromMemorySegment(S, w, wOff + 4L * (i + L), LE);
      a0 = w0.fma(FloatVector.fromArray(S, x, x0 + i), a0);
      b0 = w1.fma(FloatVector.fromArray(S, x, x0 + i + L), b0);
      a1 = w0.fma(FloatVector.fromArray(S, x, x1 + i), a1);
      b1 = w1.fma(FloatVector.fromArray(S, x, x1 + i + L), b1);
      a2 = w0.fma(FloatVector.fromArray(S, x, x2 + i), a2);
      b2 = w1.fma(FloatVector.fromArray(S, x, x2 + i + L), b2);
      a3 = w0.fma(FloatVector.fromArray(S, x, x3 + i), a3);
      b3 = w1.fma(FloatVector.fromArray(S, x, x3 + i + L), b3);
    }
    if (i + L <= n) {
      FloatVector w0 = FloatVector.fromMemorySegment(S, w, wOff + 4L * i, LE);
      a0 = w0.fma(FloatVector.fromArray(S, x, x0 + i), a0);
      a1 = w0.fma(FloatVector.fromArray(S, x, x1 + i), a1);
      a2 = w0.fma(FloatVector.fromArray(S, x, x2 + i), a2);
      a3 = w0.fma(FloatVector.fromArray(S, x, x3 + i), a3);
      i += L;
    }
    float s0 = sumLanes(a0.add(b0));
    float s1 = sumLanes(a1.add(b1));
    float s2 = sumLanes(a2.add(b2));
    float s3 = sumLanes(a3.add(b3));
    for (; i < n; i++) {
      float wi = w.get(F32, wOff + 4L * i);
      s0 = Math.fma(wi, x[x0 + i], s0);
      s1 = Math.fma(wi, x[x1 + i], s1);
      s2 = Math.fma(wi, x[x2 + i], s2);
      s3 = Math.fma(wi, x[x3 + i], s3);
    }
    out[outOff] = s0;
    out[outOff + outStride] = s1;
    out[outOff + 2 * outStride] = s2;
    out[outOff + 3 * outStride] = s3;
  }

  @Override
  public void axpy(float a, MemorySegment x, long xOff, float[] y, int yOff, int n) {
    FloatVector va = FloatVector.broadcast(S, a);
    int i = 0;
    for (; i + L <= n; i += L) {
      FloatVector xv = FloatVector.fromMemorySegment(S, x, xOff + 4L * i, LE);
      xv.fma(va, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
    }
    for (; i < n; i++) {
      y[yOff + i] =
          Math.fma(
              x.get(F32, xOff + 4L * i),
              a,
              y[yOff + i]);
    }
  }
}
