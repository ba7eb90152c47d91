package dev.duet.engine.safetensors;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlType;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * One tensor's entry in a safetensors header.
 *
 * <p>{@code dtype} is the safetensors dtype string ({@code "F32"}, {@code "BF16"}, {@code "I8"},
 * ...). {@code shape} is in safetensors (PyTorch, row-major) order: {@code shape[0]} is the
 * outermost dimension and the last entry the innermost; an empty shape is a scalar of one element.
 * This is the reverse of GGUF order ({@link #ggmlShape()} converts). {@code begin} and {@code end}
 * are the {@code data_offsets}: byte offsets relative to the first byte after the header, end
 * exclusive; {@code end - begin} is exactly the data size that the shape and dtype imply.
 *
 * <p>Immutable (the shape is copied in and out); thread-safe.
 */
public record SafetensorsTensor(String name, String dtype, long[] shape, long begin, long end) {

  /** Bits per element of each dtype the safetensors format defines. */
  private static final Map<String, Integer> DTYPE_BITS =
      Map.ofEntries(
          Map.entry("BOOL", 8),
          Map.entry("F4", 4),
          Map.entry("F6_E2M3", 6),
          Map.entry("F6_E3M2", 6),
          Map.entry("U8", 8),
          Map.entry("I8", 8),
          Map.entry("F8_E5M2", 8),
          Map.entry("F8_E4M3", 8),
          Map.entry("F8_E8M0", 8),
          Map.entry("I16", 16),
          Map.entry("U16", 16),
          Map.entry("F16", 16),
          Map.entry("BF16", 16),
          Map.entry("I32", 32),
          Map.entry("U32", 32),
          Map.entry("F32", 32),
          Map.entry("F64", 64),
          Map.entry("I64", 64),
          Map.entry("U64", 64));

  public SafetensorsTensor {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(shape, "shape");
    shape = shape.clone();
    Integer bits = DTYPE_BITS.get(dtype);
    if (bits == null) {
      throw new IllegalArgumentException(
          "tensor " + name + " has dtype " + dtype + ", which is not a safetensors dtype");
    }
    long elements = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "tensor " + name + " has a negative dimension: " + Arrays.toString(shape));
      }
      try {
        elements = Math.multiplyExact(elements, d);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException(
            "tensor " + name + " has too many elements: " + Arrays.toString(shape), e);
      }
    }
    if (begin < 0 || end < begin) {
      throw new IllegalArgumentException(
          "tensor " + name + " has bad data_offsets [" + begin + ", " + end + "]");
    }
    long bitCount;
    try {
      bitCount = Math.multiplyExact(elements, (long) bits);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(
          "tensor " + name + " has too many elements: " + Arrays.toString(shape), e);
    }
    if (bitCount % 8 != 0) {
      throw new IllegalArgumentException(
          "tensor "
              + name
              + " has "
              + elements
              + " "
              + dtype
              + " elements, which do not fill whole bytes");
    }
    if (end - begin != bitCount / 8) {
      throw new IllegalArgumentException(
          "tensor "
              + name
              + " has data_offsets ["
              + begin
              + ", "
              + end
              + "] spanning "
              + (end - begin)
              + " bytes, but shape "
              + Arrays.toString(shape)
              + " of "
              + dtype
              + " needs "
              + bitCount / 8);
    }
  }

  /** Whether {@code dtype} is one of the dtypes the safetensors format defines. */
  public static boolean isKnownDtype(String dtype) {
    return DTYPE_BITS.containsKey(dtype);
  }

  /** The safetensors dtype name for a GGML type Duet can store in safetensors. */
  public static String dtypeOf(GgmlType type) {
    return switch (type) {
      case F32 -> "F32";
      case F16 -> "F16";
      case BF16 -> "BF16";
      default ->
          throw new IllegalArgumentException(
              type + " cannot be stored in safetensors; supported: F32, F16, BF16");
    };
  }

  /**
   * The GGML type with the same element encoding.
   *
   * @throws ModelFormatException when the dtype is not F32, F16 or BF16
   */
  public GgmlType ggmlType() {
    return switch (dtype) {
      case "F32" -> GgmlType.F32;
      case "F16" -> GgmlType.F16;
      case "BF16" -> GgmlType.BF16;
      default ->
          throw new ModelFormatException(
              "tensor "
                  + name
                  + " has dtype "
                  + dtype
                  + ", which Duet does not support; supported: F32, F16, BF16");
    };
  }

  /** A copy of the shape, safetensors order (outermost first). */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** The shape reversed into GGUF order (innermost first); {@code [1]} for a scalar. */
  public long[] ggmlShape() {
    if (shape.length == 0) {
      return new long[] {1};
    }
    long[] out = new long[shape.length];
    for (int i = 0; i < shape.length; i++) {
      out[i] = shape[shape.length - 1 - i];
    }
    return out;
  }

  /** Number of dimensions (0 for a scalar). */
  public int dims() {
    return shape.length;
  }

  /** Total elements (product of all dimensions; 1 for a scalar). */
  public long elementCount() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** Size of the data in bytes: {@code end - begin}. */
  public long byteSize() {
    return end - begin;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SafetensorsTensor t
        && name.equals(t.name)
        && dtype.equals(t.dtype)
        && Arrays.equals(shape, t.shape)
        && begin == t.begin
        && end == t.end;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape) + " " + dtype + " @[" + begin + ", " + end + ")";
  }
}
