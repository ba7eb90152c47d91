package dev.duet.controller.gateway;

import dev.duet.controller.routing.RoutePlan;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Requests that arrived when no instance of their scenario group had the KV room for them, waiting
 * for room instead of getting a 503 at once: decode KV frees as other requests finish or migrate
 * and as the planner flips instances to decode, usually within a fraction of a second, which a
 * rejection would turn into a failed request. One FIFO queue per group: a request that arrives
 * while others of its group wait joins the end (no overtaking), and every {@link #TICK_MS} the
 * queue is routed from its head until a request still finds no room. A request leaves when it gets
 * a route, when its client goes away, or at its deadline (its TTFT budget), when it is rejected as
 * before.
 *
 * <p>Threading: the controller's event loop only (like the {@link Gateway}).
 */
final class RoomWait {

  /** How often waiting requests are routed again. */
  static final long TICK_MS = 20;

  /**
   * One waiting request.
   *
   * @param deadlineNanos when it stops waiting ({@link System#nanoTime()})
   * @param route its route now, empty while no instance has room
   * @param go sends it on its route
   * @param expire rejects it (its deadline passed)
   * @param gone whether its client went away (then it is dropped silently)
   */
  record Waiter(
      long deadlineNanos,
      Supplier<Optional<RoutePlan>> route,
      Consumer<RoutePlan> go,
      Runnable expire,
      BooleanSupplier gone) {}

  private final Map<String, ArrayDeque<Waiter>> queues = new HashMap<>();
  private final LongSupplier nanos;
  private long timer = -1;
  private volatile int size;

  RoomWait(LongSupplier nanos) {
    this.nanos = nanos;
  }

  /** Whether requests of {@code group} are waiting (a new one must queue behind them). */
  boolean waiting(String group) {
    ArrayDeque<Waiter> q = queues.get(group);
    return q != null && !q.isEmpty();
  }

  /** Requests waiting now, over all groups. */
  int size() {
    return size;
  }

  /** Queues {@code w} at the end of {@code group}'s queue; the ticks start if they had stopped. */
  void add(Vertx vertx, String group, Waiter w) {
    queues.computeIfAbsent(group, g -> new ArrayDeque<>()).addLast(w);
    size++;
    if (timer < 0) {
      timer = vertx.setPeriodic(TICK_MS, id -> tick(vertx));
    }
  }

  /**
   * Queues {@code w} at the head of {@code group}'s queue: a request that was routed and then
   * refused (a decode instance had no room after all) arrived before the others that wait, so it
   * keeps its place ahead of them.
   */
  void addFirst(Vertx vertx, String group, Waiter w) {
    queues.computeIfAbsent(group, g -> new ArrayDeque<>()).addFirst(w);
    size++;
    if (timer < 0) {
      timer = vertx.setPeriodic(TICK_MS, id -> tick(vertx));
    }
  }

  /** Routes each queue from its head; drops the gone, rejects the late. */
  void tick(Vertx vertx) {
    long now = nanos.getAsLong();
    for (ArrayDeque<Waiter> q : queues.values()) {
      boolean blocked = false;
      for (Iterator<Waiter> it = q.iterator(); it.hasNext(); ) {
        Waiter w = it.next();
        if (w.gone().getAsBoolean()) {
          it.remove();
          size--;
          continue;
        }
        if (!blocked) {
          Optional<RoutePlan> plan = w.route().get();
          if (plan.isPresent()) {
            it.remove();
            size--;
            w.go().accept(plan.get());
            continue;
          }
          blocked = true;
        }
        if (now - w.deadlineNanos() >= 0) {
          it.remove();
          size--;
          w.expire().run();
        }
      }
    }
    queues.values().removeIf(ArrayDeque::isEmpty);
    if (queues.isEmpty() && timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }
}
