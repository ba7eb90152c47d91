package dev.duet.controller.registry;

/**
 * One instance as the registry sees it at a moment. Immutable.
 *
 * @param descriptor what it registered
 * @param load its last reported load
 * @param lastHeartbeatNanos when its last heartbeat (or registration) arrived, monotonic nanos
 * @param alive false once it missed {@link InstanceRegistry#MISSED_HEARTBEATS} heartbeats
 */
public record InstanceView(
    InstanceDescriptor descriptor, InstanceLoad load, long lastHeartbeatNanos, boolean alive) {

  public String id() {
    return descriptor.id();
  }
}
