package dev.duet.controller.registry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The workers the controller knows: registration, heartbeats with load, and death by silence.
 * Workers heartbeat every {@link #HEARTBEAT_INTERVAL}; one that has not been heard from for {@link
 * #MISSED_HEARTBEATS} intervals is dead from that moment, so routing stops choosing it at once (it
 * is dropped when it re-registers or on {@link #remove}). Time comes from an injected monotonic
 * clock in nanoseconds, so tests check expiry without sleeping.
 *
 * <p>Threading: every method is synchronized; {@link #snapshot()} returns immutable views. This is
 * the in-memory implementation of the registry that a Hazelcast map will back later.
 */
public final class InstanceRegistry {

  /** How often workers report. */
  public static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(1);

  /** Heartbeats an instance may miss before it counts as dead. */
  public static final int MISSED_HEARTBEATS = 3;

  private record Entry(InstanceDescriptor descriptor, InstanceLoad load, long lastNanos) {}

  private final LongSupplier nanoClock;
  private final long deadAfterNanos;
  private final Map<String, Entry> entries = new LinkedHashMap<>();

  /** A registry on the given monotonic clock (e.g. {@code System::nanoTime}). */
  public InstanceRegistry(LongSupplier nanoClock) {
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    this.deadAfterNanos = HEARTBEAT_INTERVAL.toNanos() * MISSED_HEARTBEATS;
  }

  /** Adds or replaces an instance (a restart or a role flip re-registers); it starts idle. */
  public synchronized void register(InstanceDescriptor d) {
    entries.put(d.id(), new Entry(d, InstanceLoad.idle(d.kvBlocks()), nanoClock.getAsLong()));
  }

  /**
   * Records a heartbeat.
   *
   * @return false when the id is unknown, or was declared dead: the worker must register again
   */
  public synchronized boolean heartbeat(String id, InstanceLoad load) {
    Entry e = entries.get(id);
    long now = nanoClock.getAsLong();
    if (e == null || !alive(e, now)) {
      return false;
    }
    entries.put(id, new Entry(e.descriptor(), load, now));
    return true;
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
            l.decodeTokensPerS());
    entries.put(id, new Entry(e.descriptor(), guess, e.lastNanos()));
  }

  /** Forgets an instance (it deregistered, or the operator removed it). */
  public synchronized boolean remove(String id) {
    return entries.remove(id) != null;
  }

  public synchronized Optional<InstanceView> find(String id) {
    Entry e = entries.get(id);
    return e == null ? Optional.empty() : Optional.of(view(e, nanoClock.getAsLong()));
  }

  /** Every known instance, dead ones included (with {@code alive} false), in registration order. */
  public synchronized List<InstanceView> snapshot() {
    long now = nanoClock.getAsLong();
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

  private boolean alive(Entry e, long now) {
    return now - e.lastNanos() < deadAfterNanos;
  }

  private InstanceView view(Entry e, long now) {
    return new InstanceView(e.descriptor(), e.load(), e.lastNanos(), alive(e, now));
  }
}
