package dev.duet.controller.events;

import java.util.Locale;

/** What happened in the cluster, as the operator's event log records it. */
public enum EventKind {
  /** An instance changed role (prefill ↔ decode). */
  FLIP,
  /** Instances were added or removed by a scaler. */
  SCALE,
  /** A running request moved from one decode instance to another. */
  MIGRATION,
  /** A request every instance refused: the client got a 503. */
  REJECTION,
  /** An instance was cordoned or uncordoned (the detail says which). */
  CORDON,
  /** An instance started or finished draining. */
  DRAIN,
  /** The cluster recovered from a failure (e.g. requests of a dead instance resumed). */
  RECOVERY,
  /** An instance registered (or registered again after a restart or a death). */
  INSTANCE_JOINED,
  /** An instance missed its heartbeats and counts as dead. */
  INSTANCE_DEAD;

  /** The name on the wire: {@code instance_joined}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a wire name, in either case; throws naming the value and the accepted ones. */
  public static EventKind parse(String s) {
    for (EventKind k : values()) {
      if (k.name().equalsIgnoreCase(s)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        "unknown event kind '" + s + "'; one of " + java.util.Arrays.toString(values()));
  }
}
