package dev.duet.engine.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor's entry in a GGUF file's tensor table.
 *
 * <p>{@code shape} is in GGUF order: {@code shape[0]} is the innermost (fastest varying) dimension,
 * i.e. the row length, and the rows are the product of the remaining dimensions. A weight matrix
 * {@code [in, out]} therefore has {@code out} rows of {@code in} elements. {@code offset} is in
 * bytes from the start of the file's data section; {@code byteSize} is the exact size of the data.
 * Immutable (the shape is copied in and out); thread-safe.
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, long offset, long byteSize) {

  /** Most dimensions a GGML tensor can have. */
  public static final int MAX_DIMS = 4;

  public GgufTensorInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(shape, "shape");
    shape = shape.clone();
    if (shape.length < 1 || shape.length > MAX_DIMS) {
      throw new IllegalArgumentException(
          "tensor " + name + " has " + shape.length + " dims; expected 1.." + MAX_DIMS);
    }
    long elements = 1;
    for (long d : shape) {
      if (d <= 0) {
        throw new IllegalArgumentException(
            "tensor " + name + " has a non-positive dimension: " + Arrays.toString(shape));
      }
      elements = Math.multiplyExact(elements, d);
    }
    if (shape[0] % type.blockSize() != 0) {
      throw new IllegalArgumentException(
          "tensor "
              + name
              + " has row length "
              + shape[0]
              + ", not a multiple of the "
              + type
              + " block size "
              + type.blockSize());
    }
    if (offset < 0) {
      throw new IllegalArgumentException("tensor " + name + " has negative offset " + offset);
    }
    if (byteSize != type.bytesFor(elements)) {
      throw new IllegalArgumentException(
          "tensor "
              + name
              + " byteSize "
              + byteSize
              + " != "
              + type.bytesFor(elements)
              + " for "
              + elements
              + " "
              + type
              + " elements");
    }
  }

  /** Builds an info whose byte size follows from the shape and type. */
  public static GgufTensorInfo of(String name, long[] shape, GgmlType type, long offset) {
    long elements = 1;
    for (long d : shape) {
      if (d <= 0) {
        throw new IllegalArgumentException(
            "tensor " + name + " has a non-positive dimension: " + Arrays.toString(shape));
      }
      elements = Math.multiplyExact(elements, d);
    }
    if (shape.length > 0 && shape[0] % type.blockSize() != 0) {
      throw new IllegalArgumentException(
          "tensor "
              + name
              + " has row length "
              + shape[0]
              + ", not a multiple of the "
              + type
              + " block size "
              + type.blockSize());
    }
    if (shape.length == 0) {
      return new GgufTensorInfo(name, shape, type, offset, 0); // rejected by the constructor
    }
    return new GgufTensorInfo(name, shape, type, offset, type.bytesFor(elements));
  }

  /** A copy of the shape, GGUF order (innermost first). */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of dimensions. */
  public int dims() {
    return shape.length;
  }

  /** Size of dimension {@code i} (0 = innermost). */
  public long dim(int i) {
    return shape[i];
  }

  /** Total elements (product of all dimensions). */
  public long elementCount() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** Number of rows: the product of {@code shape[1..]} (1 for a vector). */
  public int rows() {
    long n = 1;
    for (int i = 1; i < shape.length; i++) {
      n *= shape[i];
    }
    return Math.toIntExact(n);
  }

  /** Elements per row: {@code shape[0]}. */
  public int rowLength() {
    return Math.toIntExact(shape[0]);
  }

  /** Bytes per row: {@code type.bytesFor(rowLength())}. */
  public long rowBytes() {
    return type.bytesFor(shape[0]);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GgufTensorInfo t
        && name.equals(t.name)
        && Arrays.equals(shape, t.shape)
        && type == t.type
        && offset == t.offset
        && byteSize == t.byteSize;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, Arrays.hashCode(shape), type, offset, byteSize);
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape) + " " + type + " @" + offset + " (" + byteSize + " B)";
  }
}
