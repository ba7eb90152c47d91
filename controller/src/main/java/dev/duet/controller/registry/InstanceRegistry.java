package dev.duet.controller.registry;

import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.events.InMemoryEventLog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The workers the controller knows: registration, heartbeats with load, and death by silence.
 * Workers heartbeat every {@link #HEARTBEAT_INTERVAL}; one that has not been heard from for {@link
 * #MISSED_HEARTBEATS} intervals is dead from that moment, so routing stops choosing it at once (it
 * is dropped when it re-registers or on {@link #remove}). Time comes from an injected monotonic
 * clock in nanoseconds, so tests check expiry without sleeping.
 *
 * <p>An operator can <b>cordon</b> an instance: it stays alive and finishes what it runs, but
 * routing sends it nothing new until it is uncordoned. A cordon outlives re-registration (a
 * restarted worker stays cordoned).
 *
 * <p>An instance's role can change in place (a role flip): the flip's answer and the heartbeats
 * that follow carry the role with its epoch (a count of flips the worker bumps), and the registry
 * takes a role only from an epoch newer than the one it holds, so a heartbeat sent before a flip
 * and delivered after it cannot undo it.
 *
 * <p>Joins, deaths and cordons go to the {@link EventLog}. A death is noticed (and recorded once)
 * the next time the registry is consulted or any instance heartbeats, i.e. within a heartbeat
 * interval while any worker lives.
 *
 * <p>Threading: every method is synchronized; {@link #snapshot()} returns immutable views. This is
 * the in-memory implementation of the registry that a Hazelcast map will back later.
 */
public final class InstanceRegistry {

  /** How often workers report. */
  public static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(1);

  /** Heartbeats an instance may miss before it counts as dead. */
  public static final int MISSED_HEARTBEATS = 3;

  /**
   * @param lastNanos its last heartbeat (or registration), monotonic nanos
   * @param reportedDead whether its death went to the event log already
   * @param roleEpoch the epoch of the descriptor's role (flips the worker has made)
   */
  private record Entry(
      InstanceDescriptor descriptor,
      InstanceLoad load,
      long lastNanos,
      boolean reportedDead,
      long roleEpoch) {
    Entry withLoad(InstanceLoad l, long nanos) {
      return new Entry(descriptor, l, nanos, false, roleEpoch);
    }

    /** The controller's own guess at its load until the next heartbeat (which it is not). */
    Entry guessing(InstanceLoad l) {
      return new Entry(descriptor, l, lastNanos, reportedDead, roleEpoch);
    }

    Entry withRole(InstanceRole role, long epoch) {
      return new Entry(descriptor.withRole(role), load, lastNanos, reportedDead, epoch);
    }
  }

  private final LongSupplier nanoClock;
  private final long deadAfterNanos;
  private final EventLog events;
  private final Map<String, Entry> entries = new LinkedHashMap<>();

  /** Instance ids routing must skip, whether registered now or not. */
  private final Set<String> cordoned = new HashSet<>();

  /** Hears every accepted heartbeat's load (the planner's measured throughputs). */
  private volatile java.util.function.BiConsumer<String, InstanceLoad> heartbeats = (id, l) -> {};

  /** A registry on the given monotonic clock (e.g. {@code System::nanoTime}) with its own log. */
  public InstanceRegistry(LongSupplier nanoClock) {
    this(nanoClock, InMemoryEventLog.withDefaults());
  }

  /** A registry that records joins, deaths and cordons into {@code events}. */
  public InstanceRegistry(LongSupplier nanoClock, EventLog events) {
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    this.events = Objects.requireNonNull(events, "events");
    this.deadAfterNanos = HEARTBEAT_INTERVAL.toNanos() * MISSED_HEARTBEATS;
  }

  /** Adds or replaces an instance (a restart re-registers); it starts idle, at role epoch 0. */
  public synchronized void register(InstanceDescriptor d) {
    register(d, 0);
  }

  /**
   * {@link #register(InstanceDescriptor)} of a worker whose role has flipped {@code roleEpoch}
   * times.
   */
  public synchronized void register(InstanceDescriptor d, long roleEpoch) {
    Entry old =
        entries.put(d.id(), new Entry(d, InstanceLoad.idle(d.kvBlocks()), now(), false, roleEpoch));
    events.record(
        EventKind.INSTANCE_JOINED,
        d.id(),
        null,
        (old == null ? "registered" : "registered again")
            + " as "
            + d.role().wireName()
            + (d.group().equals(InstanceDescriptor.DEFAULT_GROUP) ? "" : " of group " + d.group())
            + " at "
            + d.endpoint()
            + (cordoned.contains(d.id()) ? " (still cordoned)" : ""));
  }

  /**
   * Cordons or uncordons an instance: routing sends a cordoned instance no new request.
   *
   * @return false when no instance of that id is registered (nothing changes)
   */
  public synchronized boolean cordon(String id, boolean on) {
    if (!entries.containsKey(id)) {
      return false;
    }
    boolean changed = on ? cordoned.add(id) : cordoned.remove(id);
    if (changed) {
      events.record(EventKind.CORDON, id, null, on ? "cordoned" : "uncordoned");
    }
    return true;
  }

  /**
   * Records a heartbeat that also reports the worker's role: the role is taken when its epoch is
   * newer than the one held.
   *
   * @return false when the id is unknown, or was declared dead: the worker must register again
   */
  public synchronized boolean heartbeat(
      String id, InstanceLoad load, InstanceRole role, long roleEpoch) {
    if (!heartbeat(id, load)) {
      return false;
    }
    updateRole(id, role, roleEpoch);
    return true;
  }

  /**
   * Takes {@code role} as instance {@code id}'s role if {@code epoch} is newer than the one held
   * (the answer of a flip, or a heartbeat after one).
   *
   * @return whether the role held changed
   */
  public synchronized boolean updateRole(String id, InstanceRole role, long epoch) {
    Objects.requireNonNull(role, "role");
    Entry e = entries.get(id);
    if (e == null || epoch <= e.roleEpoch()) {
      return false;
    }
    entries.put(id, e.withRole(role, epoch));
    return e.descriptor().role() != role;
  }

  /**
   * Records a heartbeat.
   *
   * @return false when the id is unknown, or was declared dead: the worker must register again
   */
  public synchronized boolean heartbeat(String id, InstanceLoad load) {
    long now = now();
    Entry e = entries.get(id);
    if (e == null || !alive(e, now)) {
      return false;
    }
    entries.put(id, e.withLoad(load, now));
    heartbeats.accept(id, load);
    return true;
  }

  /**
   * Sets who hears each accepted heartbeat (one listener), called with the instance id and its
   * reported load while the registry's lock is held: it must be quick and must not call back.
   */
  public void onHeartbeat(java.util.function.BiConsumer<String, InstanceLoad> listener) {
    this.heartbeats = Objects.requireNonNull(listener, "listener");
  }

  /**
   * Counts a request just sent to {@code id} into its load until its next heartbeat replaces the
   * figures: a burst of requests between two heartbeats then spreads over the instances instead of
   * all going to the one that looked lightest a second ago.
   */
  public synchronized void noteRouted(String id, int promptTokens, int kvBlocks) {
    Entry e = entries.get(id);
    if (e == null) {
      return;
    }
    InstanceLoad l = e.load();
    InstanceLoad guess =
        new InstanceLoad(
            l.queued() + 1,
            l.queuedPromptTokens() + promptTokens,
            l.running(),
            Math.max(0, l.freeKvBlocks() - kvBlocks),
            l.prefillTokensPerS(),
            l.decodeTokensPerS(),
            l.decodeStep(),
            l.reserved());
    entries.put(id, e.guessing(guess));
  }

  /**
   * Counts {@code id} as having {@code freeKvBlocks} free KV blocks until its next heartbeat: it
   * refused a reservation its last report said it had room for (the report was stale), and said
   * what it has (0 when it could not say), so the next requests route by that, not by the stale
   * figure.
   */
  public synchronized void noteFreeBlocks(String id, int freeKvBlocks) {
    Entry e = entries.get(id);
    if (e != null) {
      entries.put(id, e.guessing(e.load().withFreeKvBlocks(Math.max(0, freeKvBlocks))));
    }
  }

  /** Forgets an instance (it deregistered, or the operator removed it). */
  public synchronized boolean remove(String id) {
    cordoned.remove(id);
    return entries.remove(id) != null;
  }

  public synchronized Optional<InstanceView> find(String id) {
    long now = now();
    Entry e = entries.get(id);
    return e == null ? Optional.empty() : Optional.of(view(e, now));
  }

  /** Every known instance, dead ones included (with {@code alive} false), in registration order. */
  public synchronized List<InstanceView> snapshot() {
    long now = now();
    List<InstanceView> out = new ArrayList<>(entries.size());
    for (Entry e : entries.values()) {
      out.add(view(e, now));
    }
    return List.copyOf(out);
  }

  /** The instances alive now. */
  public List<InstanceView> alive() {
    return snapshot().stream().filter(InstanceView::alive).toList();
  }

  /** Reads the clock and records the deaths that happened since the last look. */
  private long now() {
    long now = nanoClock.getAsLong();
    for (Map.Entry<String, Entry> me : entries.entrySet()) {
      Entry e = me.getValue();
      if (!e.reportedDead() && !alive(e, now)) {
        me.setValue(new Entry(e.descriptor(), e.load(), e.lastNanos(), true, e.roleEpoch()));
        events.record(
            EventKind.INSTANCE_DEAD,
            e.descriptor().id(),
            null,
            "no heartbeat for "
                + (now - e.lastNanos()) / 1_000_000
                + " ms (dead after "
                + MISSED_HEARTBEATS
                + " missed)");
      }
    }
    return now;
  }

  private boolean alive(Entry e, long now) {
    return now - e.lastNanos() < deadAfterNanos;
  }

  private InstanceView view(Entry e, long now) {
    return new InstanceView(
        e.descriptor(),
        e.load(),
        e.lastNanos(),
        alive(e, now),
        cordoned.contains(e.descriptor().id()));
  }
}
