package dev.duet.controller.registry;

/** What an instance does: prefill, decode, or both in one process (the colocated baseline). */
public enum InstanceRole {
  PREFILL,
  DECODE,
  BOTH;

  public boolean prefills() {
    return this != DECODE;
  }

  public boolean decodes() {
    return this != PREFILL;
  }
}
