package dev.duet.engine.kv;

/**
 * Element type of the values stored in a {@link KvCachePool}. All types are stored little-endian
 * (the native order of the platforms Duet runs on); {@code F16} is IEEE 754 binary16 and {@code
 * BF16} is the upper half of an IEEE 754 binary32.
 */
public enum KvDtype {
  F32(4),
  F16(2),
  BF16(2);

  private final int bytes;

  KvDtype(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }
}
