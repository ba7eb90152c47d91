package dev.duet.engine.gguf;

/**
 * The metadata value types of GGUF (v2 and v3), with their on-disk ids.
 *
 * <p>{@link GgufFile} maps them to Java values as follows: {@code UINT8}, {@code INT8}, {@code
 * UINT16}, {@code INT16}, {@code INT32} to {@link Integer} (unsigned types keep their unsigned
 * value); {@code UINT32}, {@code INT64}, {@code UINT64} to {@link Long} ({@code UINT64} above
 * {@link Long#MAX_VALUE} keeps its bit pattern); {@code FLOAT32} to {@link Float}; {@code FLOAT64}
 * to {@link Double}; {@code BOOL} to {@link Boolean}; {@code STRING} to {@link String}; {@code
 * ARRAY} to an unmodifiable {@link java.util.List} of the element values. Immutable; thread-safe.
 */
public enum GgufValueType {
  UINT8(0, 1),
  INT8(1, 1),
  UINT16(2, 2),
  INT16(3, 2),
  UINT32(4, 4),
  INT32(5, 4),
  FLOAT32(6, 4),
  BOOL(7, 1),
  STRING(8, 8),
  ARRAY(9, 12),
  UINT64(10, 8),
  INT64(11, 8),
  FLOAT64(12, 8);

  private static final GgufValueType[] BY_ID = values();

  private final int id;
  private final int minBytes;

  GgufValueType(int id, int minBytes) {
    this.id = id;
    this.minBytes = minBytes;
  }

  /** The numeric id GGUF files use for this type. */
  public int id() {
    return id;
  }

  /**
   * The fewest bytes one value of this type occupies on disk (exact for scalars; the length or
   * header prefix for strings and arrays). Used to reject absurd counts before allocating.
   */
  public int minBytes() {
    return minBytes;
  }

  /** Whether this is one of the eight integer types. */
  public boolean isInteger() {
    return switch (this) {
      case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
      default -> false;
    };
  }

  /** The type for an id, or {@code null} when the id is not a GGUF value type. */
  public static GgufValueType fromId(int id) {
    return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
  }
}
