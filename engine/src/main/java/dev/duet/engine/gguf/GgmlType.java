package dev.duet.engine.gguf;

/**
 * Tensor element types Duet reads and writes, with their GGML ids and block layouts.
 *
 * <p>Quantized types store {@link #blockSize()} elements in {@link #blockBytes()} bytes:
 *
 * <ul>
 *   <li>{@code Q8_0}: a little-endian F16 scale {@code d}, then 32 signed bytes {@code q}; value =
 *       d*q.
 *   <li>{@code Q4_0}: a little-endian F16 scale {@code d}, then 16 bytes; element j&lt;16 is the
 *       low nibble of byte j, element j&ge;16 the high nibble of byte j-16; value = d*(nibble-8).
 * </ul>
 */
public enum GgmlType {
  F32(0, 1, 4),
  F16(1, 1, 2),
  Q4_0(2, 32, 18),
  Q8_0(8, 32, 34),
  BF16(30, 1, 2);

  private final int id;
  private final int blockSize;
  private final int blockBytes;

  GgmlType(int id, int blockSize, int blockBytes) {
    this.id = id;
    this.blockSize = blockSize;
    this.blockBytes = blockBytes;
  }

  /** The numeric id GGUF files use for this type. */
  public int id() {
    return id;
  }

  /** Elements per block (1 for unquantized types). */
  public int blockSize() {
    return blockSize;
  }

  /** Bytes per block. */
  public int blockBytes() {
    return blockBytes;
  }

  public boolean quantized() {
    return blockSize > 1;
  }

  /**
   * Bytes needed for {@code elements} elements; {@code elements} must be a multiple of the block
   * size.
   */
  public long bytesFor(long elements) {
    if (elements % blockSize != 0) {
      throw new IllegalArgumentException(
          name() + " needs a multiple of " + blockSize + " elements, got " + elements);
    }
    return elements / blockSize * blockBytes;
  }

  /** The type for a GGML id, or {@code null} when Duet does not support it. */
  public static GgmlType fromId(int id) {
    for (GgmlType t : values()) {
      if (t.id == id) {
        return t;
      }
    }
    return null;
  }
}
