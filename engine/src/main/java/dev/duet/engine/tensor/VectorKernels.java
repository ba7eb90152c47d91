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
 * <p>Every dot product of length n with L lanes: {@code acc = fma(w[i..i+L), x[i..i+L), acc)} for
 * each full vector in order, then {@link #sumLanes} (a fixed shuffle tree), then the scalar tail
 * left to right with {@code Math.fma}. The tiled kernels keep one such accumulator per output.
 */
final class VectorKernels implements Kernels {

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int L = S.length();
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

  // Rotations by 8, 4, 2 and 1 lanes: the fixed tree that sums a vector's lanes. Each is its own
  // static final field so that the JIT sees a constant shuffle and emits one permute instruction.
  private static final VectorShuffle<Float> ROT8 = rotation(8);
  private static final VectorShuffle<Float> ROT4 = rotation(4);
  private static final VectorShuffle<Float> ROT2 = rotation(2);
  private static final VectorShuffle<Float> ROT1 = rotation(1);

  private static VectorShuffle<Float> rotation(int lanes) {
    return lanes < L ? VectorShuffle.iota(S, lanes, 1, true) : null;
  }

  /** Sums the lanes in a fixed order: rotate-and-add by L/2, L/4, ..., 1 lanes, then lane 0. */
  private static float sumLanes(FloatVector v) {
    if (L > 8) {
      v = v.add(v.rearrange(ROT8));
    }
    if (L > 4) {
      v = v.add(v.rearrange(ROT4));
    }
    if (L > 2) {
      v = v.add(v.rearrange(ROT2));
    }
    if (L > 1) {
      v = v.add(v.rearrange(ROT1));
    }
    return v.lane(0);
  }

  /** Index of the first element the vector loop does not cover. */
  private static int vectorEnd(int n) {
    return n - n % L;
  }

  @Override
  public float dot(MemorySegment w, long wOff, float[] x, int xOff, int n) {
    FloatVector acc = FloatVector.zero(S);
    int end = vectorEnd(n);
    for (int i = 0; i < end; i += L) {
      acc =
          FloatVector.fromMemorySegment(S, w, wOff + 4L * i, LE)
              .fma(FloatVector.fromArray(S, x, xOff + i), acc);
    }
    return tail(sumLanes(acc), w, wOff, x, xOff, end, n);
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
    long w0 = wOff;
    long w1 = wOff + wStride;
    long w2 = wOff + 2 * wStride;
    long w3 = wOff + 3 * wStride;
    int x0 = xOff;
    int x1 = xOff + xStride;
    int x2 = xOff + 2 * xStride;
    int x3 = xOff + 3 * xStride;
    FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    int end = vectorEnd(n);
    for (int i = 0; i < end; i += L) {
      long b = 4L * i;
      FloatVector v0 = FloatVector.fromArray(S, x, x0 + i);
      FloatVector v1 = FloatVector.fromArray(S, x, x1 + i);
      FloatVector v2 = FloatVector.fromArray(S, x, x2 + i);
      FloatVector v3 = FloatVector.fromArray(S, x, x3 + i);
      FloatVector r = FloatVector.fromMemorySegment(S, w, w0 + b, LE);
      a00 = r.fma(v0, a00);
      a01 = r.fma(v1, a01);
      a02 = r.fma(v2, a02);
      a03 = r.fma(v3, a03);
      r = FloatVector.fromMemorySegment(S, w, w1 + b, LE);
      a10 = r.fma(v0, a10);
      a11 = r.fma(v1, a11);
      a12 = r.fma(v2, a12);
      a13 = r.fma(v3, a13);
      r = FloatVector.fromMemorySegment(S, w, w2 + b, LE);
      a20 = r.fma(v0, a20);
      a21 = r.fma(v1, a21);
      a22 = r.fma(v2, a22);
      a23 = r.fma(v3, a23);
      r = FloatVector.fromMemorySegment(S, w, w3 + b, LE);
      a30 = r.fma(v0, a30);
      a31 = r.fma(v1, a31);
      a32 = r.fma(v2, a32);
      a33 = r.fma(v3, a33);
    }
    int o0 = outOff;
    int o1 = outOff + outStride;
    int o2 = outOff + 2 * outStride;
    int o3 = outOff + 3 * outStride;
    out[o0] = tail(sumLanes(a00), w, w0, x, x0, end, n);
    out[o0 + 1] = tail(sumLanes(a10), w, w1, x, x0, end, n);
    out[o0 + 2] = tail(sumLanes(a20), w, w2, x, x0, end, n);
    out[o0 + 3] = tail(sumLanes(a30), w, w3, x, x0, end, n);
    out[o1] = tail(sumLanes(a01), w, w0, x, x1, end, n);
    out[o1 + 1] = tail(sumLanes(a11), w, w1, x, x1, end, n);
    out[o1 + 2] = tail(sumLanes(a21), w, w2, x, x1, end, n);
    out[o1 + 3] = tail(sumLanes(a31), w, w3, x, x1, end, n);
    out[o2] = tail(sumLanes(a02), w, w0, x, x2, end, n);
    out[o2 + 1] = tail(sumLanes(a12), w, w1, x, x2, end, n);
    out[o2 + 2] = tail(sumLanes(a22), w, w2, x, x2, end, n);
    out[o2 + 3] = tail(sumLanes(a32), w, w3, x, x2, end, n);
    out[o3] = tail(sumLanes(a03), w, w0, x, x3, end, n);
    out[o3 + 1] = tail(sumLanes(a13), w, w1, x, x3, end, n);
    out[o3 + 2] = tail(sumLanes(a23), w, w2, x, x3, end, n);
    out[o3 + 3] = tail(sumLanes(a33), w, w3, x, x3, end, n);
  }

  /**
   * Adds the scalar tail {@code [end, n)} to a summed accumulator: the end of every dot. Takes a
   * float, not a vector, so it costs nothing extra when the JIT does not inline it.
   */
  private static float tail(
      float sum, MemorySegment w, long wOff, float[] x, int xOff, int end, int n) {
    for (int i = end; i < n; i++) {
      sum = Math.fma(w.get(F32, wOff + 4L * i), x[xOff + i], sum);
    }
    return sum;
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
    long w1 = wOff + wStride;
    long w2 = wOff + 2 * wStride;
    long w3 = wOff + 3 * wStride;
    FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
    int end = vectorEnd(n);
    for (int i = 0; i < end; i += L) {
      long b = 4L * i;
      FloatVector v = FloatVector.fromArray(S, x, xOff + i);
      a0 = FloatVector.fromMemorySegment(S, w, wOff + b, LE).fma(v, a0);
      a1 = FloatVector.fromMemorySegment(S, w, w1 + b, LE).fma(v, a1);
      a2 = FloatVector.fromMemorySegment(S, w, w2 + b, LE).fma(v, a2);
      a3 = FloatVector.fromMemorySegment(S, w, w3 + b, LE).fma(v, a3);
    }
    out[outOff] = tail(sumLanes(a0), w, wOff, x, xOff, end, n);
    out[outOff + 1] = tail(sumLanes(a1), w, w1, x, xOff, end, n);
    out[outOff + 2] = tail(sumLanes(a2), w, w2, x, xOff, end, n);
    out[outOff + 3] = tail(sumLanes(a3), w, w3, x, xOff, end, n);
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
    int x1 = xOff + xStride;
    int x2 = xOff + 2 * xStride;
    int x3 = xOff + 3 * xStride;
    FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
    int end = vectorEnd(n);
    for (int i = 0; i < end; i += L) {
      FloatVector r = FloatVector.fromMemorySegment(S, w, wOff + 4L * i, LE);
      a0 = r.fma(FloatVector.fromArray(S, x, xOff + i), a0);
      a1 = r.fma(FloatVector.fromArray(S, x, x1 + i), a1);
      a2 = r.fma(FloatVector.fromArray(S, x, x2 + i), a2);
      a3 = r.fma(FloatVector.fromArray(S, x, x3 + i), a3);
    }
    out[outOff] = tail(sumLanes(a0), w, wOff, x, xOff, end, n);
    out[outOff + outStride] = tail(sumLanes(a1), w, wOff, x, x1, end, n);
    out[outOff + 2 * outStride] = tail(sumLanes(a2), w, wOff, x, x2, end, n);
    out[outOff + 3 * outStride] = tail(sumLanes(a3), w, wOff, x, x3, end, n);
  }

  @Override
  public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
    FloatVector acc = FloatVector.zero(S);
    int end = vectorEnd(n);
    for (int i = 0; i < end; i += L) {
      acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
    }
    float sum = sumLanes(acc);
    for (int i = end; i < n; i++) {
      sum = Math.fma(a[aOff + i], b[bOff + i], sum);
    }
    return sum;
  }

  @Override
  public void axpy(float a, MemorySegment x, long xOff, float[] y, int yOff, int n) {
    FloatVector va = FloatVector.broadcast(S, a);
    int end = vectorEnd(n);
    for (int i = 0; i < end; i += L) {
      FloatVector.fromMemorySegment(S, x, xOff + 4L * i, LE)
          .fma(va, FloatVector.fromArray(S, y, yOff + i))
          .intoArray(y, yOff + i);
    }
    for (int i = end; i < n; i++) {
      y[yOff + i] = Math.fma(x.get(F32, xOff + 4L * i), a, y[yOff + i]);
    }
  }

  @Override
  public void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
    FloatVector va = FloatVector.broadcast(S, a);
    int end = vectorEnd(n);
    for (int i = 0; i < end; i += L) {
      FloatVector.fromArray(S, x, xOff + i)
          .fma(va, FloatVector.fromArray(S, y, yOff + i))
          .intoArray(y, yOff + i);
    }
    for (int i = end; i < n; i++) {
      y[yOff + i] = Math.fma(x[xOff + i], a, y[yOff + i]);
    }
  }

  @Override
  public void dotRows(
      MemorySegment w,
      long wOff,
      long wStride,
      int count,
      float[] x,
      int xOff,
      int n,
      float[] out,
      int outOff) {
    int end = vectorEnd(n);
    for (int j = 0; j < count; j++) {
      long row = wOff + j * wStride;
      FloatVector acc = FloatVector.zero(S);
      for (int i = 0; i < end; i += L) {
        acc =
            FloatVector.fromMemorySegment(S, w, row + 4L * i, LE)
                .fma(FloatVector.fromArray(S, x, xOff + i), acc);
      }
      out[outOff + j] = tail(sumLanes(acc), w, row, x, xOff, end, n);
    }
  }

  @Override
  public void axpyRows(
      float[] a,
      int aOff,
      int count,
      MemorySegment x,
      long xOff,
      long xStride,
      float[] y,
      int yOff,
      int n) {
    // Element by element the same fma chain over j as count axpy calls; the accumulator stays in a
    // register across the rows instead of going through y.
    int end = vectorEnd(n);
    for (int i = 0; i < end; i += L) {
      FloatVector acc = FloatVector.fromArray(S, y, yOff + i);
      long col = xOff + 4L * i;
      for (int j = 0; j < count; j++) {
        acc =
            FloatVector.fromMemorySegment(S, x, col + j * xStride, LE)
                .fma(FloatVector.broadcast(S, a[aOff + j]), acc);
      }
      acc.intoArray(y, yOff + i);
    }
    for (int i = end; i < n; i++) {
      float acc = y[yOff + i];
      for (int j = 0; j < count; j++) {
        acc = Math.fma(x.get(F32, xOff + j * xStride + 4L * i), a[aOff + j], acc);
      }
      y[yOff + i] = acc;
    }
  }
}
