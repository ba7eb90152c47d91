package dev.duet.controller.registry;

/**
 * One instance as the registry sees it at a moment. Immutable.
 *
 * @param descriptor what it registered
 * @param load its last reported load
 * @param lastHeartbeatNanos when its last heartbeat (or registration) arrived, monotonic nanos
 * @param alive false once it missed {@link InstanceRegistry#MISSED_HEARTBEATS} heartbeats
 * @param cordoned true while an operator keeps new requests away from it
 */
public record InstanceView(
    InstanceDescriptor descriptor,
    InstanceLoad load,
    long lastHeartbeatNanos,
    boolean alive,
    boolean cordoned) {

  /** A view of an instance that is not cordoned. */
  public InstanceView(
      InstanceDescriptor descriptor, InstanceLoad load, long lastHeartbeatNanos, boolean alive) {
    this(descriptor, load, lastHeartbeatNanos, alive, false);
  }

  public String id() {
    return descriptor.id();
  }

  /** Whether routing may send it a new request: alive and not cordoned. */
  public boolean routable() {
    return alive && !cordoned;
  }
}
