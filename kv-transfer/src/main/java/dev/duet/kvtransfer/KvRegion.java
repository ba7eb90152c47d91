package dev.duet.kvtransfer;

/**
 * The handle of a registered memory region: what a receiver hands a writer (the "remote key") so
 * that the writer can place bytes into it with {@link TransferChannel#write}.
 *
 * <p>Serializable as a short string ({@link #encode()} / {@link #decode(String)}) to travel in a
 * JSON control message. The access key is a random 64-bit secret chosen at registration; every
 * write carries it and the receiver rejects a write whose key does not match. Immutable.
 *
 * @param id the region's id, unique within the receiving node
 * @param length the region's size in bytes
 * @param accessKey the region's access key
 */
public record KvRegion(long id, long length, long accessKey) {
  private static final String PREFIX = "kvr1:";

  public KvRegion {
    if (id <= 0) {
      throw new IllegalArgumentException("KvRegion id must be positive, got " + id);
    }
    if (length <= 0) {
      throw new IllegalArgumentException("KvRegion length must be positive, got " + length);
    }
  }

  /** {@code kvr1:<id>:<length>:<access key in hex>}. */
  public String encode() {
    return PREFIX + id + ":" + length + ":" + Long.toHexString(accessKey);
  }

  /** Parses {@link #encode()}'s form. */
  public static KvRegion decode(String s) {
    if (s == null || !s.startsWith(PREFIX)) {
      throw new IllegalArgumentException("not a KvRegion handle (want kvr1:id:length:key): " + s);
    }
    String[] parts = s.substring(PREFIX.length()).split(":");
    if (parts.length != 3) {
      throw new IllegalArgumentException("not a KvRegion handle (want kvr1:id:length:key): " + s);
    }
    try {
      return new KvRegion(
          Long.parseLong(parts[0]), Long.parseLong(parts[1]), Long.parseUnsignedLong(parts[2], 16));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad number in KvRegion handle " + s, e);
    }
  }

  /** Redacts the access key: handles end up in logs. */
  @Override
  public String toString() {
    return "KvRegion[id=" + id + ", length=" + length + "]";
  }
}
