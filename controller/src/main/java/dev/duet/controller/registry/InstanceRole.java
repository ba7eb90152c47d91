package dev.duet.controller.registry;

/** What an instance does: prefill, decode, or both in one process (the colocated baseline). */
public enum InstanceRole {
  PREFILL,
  DECODE,
  BOTH;

  /** The name on the wire: {@code prefill}, {@code decode}, {@code both}. */
  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  public boolean prefills() {
    return this != DECODE;
  }

  public boolean decodes() {
    return this != PREFILL;
  }
}
