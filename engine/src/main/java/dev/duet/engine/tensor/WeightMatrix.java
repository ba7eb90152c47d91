package dev.duet.engine.tensor;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlCodec;
import dev.duet.engine.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A read-only weight matrix of shape (rows, cols), row-major, in any supported dtype, backed by a
 * memory-mapped file (never copied onto the heap).
 *
 * <p>{@link #multiply} computes {@code out = x · Wᵀ} for a batch of input rows. F32 weights are
 * read in place; other dtypes are decoded one weight row at a time into a scratch row (exactly, so
 * the dot products that follow are the same F32 kernels). Each output element is one {@link
 * Kernels#dot}, which is what makes the result independent of the batch.
 *
 * <p>Immutable; {@code multiply} may run on several threads at once over disjoint row ranges.
 */
public final class WeightMatrix {

  private final String name;
  private final GgmlType type;
  private final MemorySegment data;
  private final int rows;
  private final int cols;
  private final long rowBytes;

  private WeightMatrix(String name, GgmlType type, MemorySegment data, int rows, int cols) {
    this.name = name;
    this.type = type;
    this.data = data;
    this.rows = rows;
    this.cols = cols;
    this.rowBytes = type.bytesFor(cols);
  }

  /** Wraps {@code data}, which must hold exactly {@code rows * cols} elements of {@code type}. */
  public static WeightMatrix of(
      String name, GgmlType type, MemorySegment data, int rows, int cols) {
    if (cols % type.blockSize() != 0) {
      throw new ModelFormatException(
          "tensor "
              + name
              + ": row length "
              + cols
              + " is not a multiple of the "
              + type
              + " block size "
              + type.blockSize());
    }
    long expected = (long) rows * type.bytesFor(cols);
    if (data.byteSize() != expected) {
      throw new ModelFormatException(
          "tensor "
              + name
              + ": expected "
              + expected
              + " bytes for "
              + rows
              + "x"
              + cols
              + " "
              + type
              + ", found "
              + data.byteSize());
    }
    return new WeightMatrix(name, type, data, rows, cols);
  }

  public String name() {
    return name;
  }

  public GgmlType type() {
    return type;
  }

  public int rows() {
    return rows;
  }

  public int cols() {
    return cols;
  }

  /** Bytes of weights (what one full pass over the matrix reads from memory). */
  public long byteSize() {
    return data.byteSize();
  }

  /** Decodes row {@code r} into {@code dst[off .. off+cols)}. */
  public void row(int r, float[] dst, int off) {
    GgmlCodec.decode(type, data, r * rowBytes, dst, off, cols);
  }

  /**
   * Per-thread scratch for non-F32 matrices: {@code row} receives one decoded row, {@code rows}
   * (off-heap, so the kernels only ever see native segments) holds a tile of them.
   */
  private record Scratch(float[] row, MemorySegment rows) {}

  private static final ThreadLocal<Scratch[]> SCRATCH =
      ThreadLocal.withInitial(() -> new Scratch[1]);

  private static Scratch scratch(int cols, long bytes) {
    Scratch[] holder = SCRATCH.get();
    Scratch s = holder[0];
    if (s == null || s.row().length < cols || s.rows().byteSize() < bytes) {
      s = new Scratch(new float[cols], Arena.ofAuto().allocate(bytes, 64));
      holder[0] = s;
    }
    return s;
  }

  /**
   * For each weight row {@code r} in {@code [from, to)} and each batch row {@code b < batch}:
   * {@code out[b*outStride + outOffset + r] = dot(W[r], x[b*xStride .. b*xStride + cols))}.
   *
   * <p>Works in tiles of 4 weight rows (kept in L1 while every batch row passes by) times 4 batch
   * rows; each output is still exactly one {@link Kernels#dot}.
   */
  public void multiply(
      float[] x,
      int xStride,
      int batch,
      float[] out,
      int outStride,
      int outOffset,
      int from,
      int to) {
    Kernels k = Kernels.get();
    boolean direct = type == GgmlType.F32;
    long stride = direct ? rowBytes : 4L * cols;
    Scratch scratch = direct ? null : scratch(cols, 4 * stride);
    MemorySegment w = direct ? data : scratch.rows();
    int r = from;
    for (; r + 4 <= to; r += 4) {
      long base = direct ? r * rowBytes : 0;
      if (!direct) {
        decodeRows(r, 4, scratch);
      }
      int b = 0;
      for (; b + 4 <= batch; b += 4) {
        k.dot4x4(
            w,
            base,
            stride,
            x,
            b * xStride,
            xStride,
            cols,
            out,
            b * outStride + outOffset + r,
            outStride);
      }
      for (; b < batch; b++) {
        k.dot4x1(w, base, stride, x, b * xStride, cols, out, b * outStride + outOffset + r);
      }
    }
    for (; r < to; r++) {
      long base = direct ? r * rowBytes : 0;
      if (!direct) {
        decodeRows(r, 1, scratch);
      }
      int b = 0;
      for (; b + 4 <= batch; b += 4) {
        k.dot1x4(
            w, base, x, b * xStride, xStride, cols, out, b * outStride + outOffset + r, outStride);
      }
      for (; b < batch; b++) {
        out[b * outStride + outOffset + r] = k.dot(w, base, x, b * xStride, cols);
      }
    }
  }

  /** Decodes {@code n} rows from {@code r} into consecutive F32 rows of the scratch tile. */
  private void decodeRows(int r, int n, Scratch scratch) {
    float[] row = scratch.row();
    for (int i = 0; i < n; i++) {
      row(r + i, row, 0);
      MemorySegment.copy(
          row, 0, scratch.rows(), ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * i * cols, cols);
    }
  }
}
