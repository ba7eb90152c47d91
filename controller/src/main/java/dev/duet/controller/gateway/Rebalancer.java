package dev.duet.controller.gateway;

import dev.duet.controller.policy.Policy;
import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.routing.GroupScope;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Balances decode instances by live migration, the way Llumnix does: each period it measures every
 * live decode instance's <em>freeness</em> (KV blocks free after the head-of-line demand of its
 * queue, per running request: how many more steps of room each request has), pairs the least free
 * instances (under {@link Options#lowFreeness()}) with the most free (over {@link
 * Options#highFreeness()}), and moves the shortest-running requests first (least KV to copy), at
 * most {@link Options#maxConcurrent()} at a time.
 *
 * <p>Each scenario group is balanced on its own: requests move only between decode instances of the
 * group the instances serve ({@link GroupScope}), and a request only within its own group, or among
 * the default group's instances when its group has no decode instance (where routing sent it by
 * fallback).
 *
 * <p>Threading: {@link #tick()} runs on one thread at a time (a Vert.x timer); migrations complete
 * on event loops (the in-flight count is atomic).
 */
public final class Rebalancer {

  private static final Logger LOG = LoggerFactory.getLogger(Rebalancer.class);

  /**
   * Settings.
   *
   * @param period how often to look
   * @param lowFreeness instances below this are sources
   * @param highFreeness instances above this are targets (above {@code lowFreeness})
   * @param maxConcurrent migrations in flight at once
   */
  public record Options(
      Duration period, double lowFreeness, double highFreeness, int maxConcurrent) {
    public Options {
      if (period.isNegative() || period.isZero()) {
        throw new IllegalArgumentException("period must be positive, got " + period);
      }
      if (!(highFreeness > lowFreeness)) {
        throw new IllegalArgumentException(
            "highFreeness (" + highFreeness + ") must be above lowFreeness (" + lowFreeness + ")");
      }
      if (maxConcurrent < 1) {
        throw new IllegalArgumentException("maxConcurrent must be >= 1, got " + maxConcurrent);
      }
    }

    /** The settings of a policy's {@code rebalancer} section. */
    public static Options of(Policy.Rebalancer p) {
      return new Options(
          Duration.ofMillis(p.periodMs()),
          p.lowFreeness(),
          p.highFreeness(),
          p.maxConcurrentMigrations());
    }
  }

  /** One move: a request from an instance to another. */
  public record Move(String request, String source, String target) {}

  /**
   * A request the planner may move.
   *
   * @param id its id
   * @param lifetimeTokens the positions it reserves (prompt plus max tokens)
   * @param movable whether it can move now (decoding, not migrating already)
   */
  record Candidate(String id, int lifetimeTokens, boolean movable) {}

  private final InstanceRegistry registry;
  private final InFlight inFlight;
  private final Migrator migrator;
  private final java.util.function.Supplier<Policy.Rebalancer> settings;
  private final java.util.function.Supplier<GroupScope> groups;
  private final AtomicInteger running = new AtomicInteger();
  private long lastNanos;

  /**
   * @param settings the current policy's rebalancer section, read at each tick (a policy reload
   *     takes effect at once)
   */
  public Rebalancer(
      InstanceRegistry registry,
      Gateway gateway,
      java.util.function.Supplier<Policy.Rebalancer> settings) {
    this.registry = registry;
    this.inFlight = gateway.inFlight();
    this.migrator = gateway.migrator();
    this.settings = settings;
    this.groups = gateway::groups;
  }

  /**
   * Starts looking on {@code vertx}'s timer: every 100 ms it checks whether the policy's period has
   * passed (so a reloaded period applies at once). Returns the timer id.
   */
  public long start(io.vertx.core.Vertx vertx) {
    return vertx.setPeriodic(
        100,
        id -> {
          Policy.Rebalancer p = settings.get();
          long now = System.nanoTime();
          if (p.enabled() && now - lastNanos >= p.periodMs() * 1_000_000) {
            lastNanos = now;
            tick(Options.of(p));
          }
        });
  }

  /**
   * Freeness of an instance (Llumnix): free blocks after its queue's demand, per running request;
   * an idle instance has all its free blocks.
   */
  public static double freeness(InstanceView i) {
    int queuedBlocks =
        i.descriptor().blocksFor((int) Math.min(Integer.MAX_VALUE, i.load().queuedPromptTokens()));
    double free = i.load().freeKvBlocks() - queuedBlocks;
    return free / Math.max(1, i.load().running());
  }

  /** Looks once and starts the moves it plans. */
  public void tick(Options options) {
    int room = options.maxConcurrent() - running.get();
    if (room <= 0) {
      return;
    }
    GroupScope scope = groups.get();
    Map<String, List<InstanceView>> byGroup =
        registry.alive().stream()
            .filter(i -> i.descriptor().role() == InstanceRole.DECODE)
            .collect(Collectors.groupingBy(scope::groupOf, TreeMap::new, Collectors.toList()));
    for (var e : byGroup.entrySet()) {
      String group = e.getKey();
      Function<String, List<Candidate>> candidates =
          instance ->
              inFlight.on(instance).stream()
                  .map(
                      s ->
                          new Candidate(
                              s.id,
                              s.lifetimeTokens,
                              !s.migrating
                                  && s.generated() > 0
                                  && belongs(s.group, group, byGroup.keySet())))
                  .toList();
      for (Move m : plan(e.getValue(), candidates, room, options)) {
        room--;
        running.incrementAndGet();
        LOG.info(
            "rebalancing group {}: moving {} from {} to {}",
            group,
            m.request(),
            m.source(),
            m.target());
        migrator.migrate(m.request(), m.target()).onComplete(ar -> running.decrementAndGet());
      }
      if (room <= 0) {
        return;
      }
    }
  }

  /**
   * Whether a request of {@code requestGroup} may move among the decode instances of {@code
   * instanceGroup}: its own group's, or the default group's when its group has no decode instance
   * (those of {@code withDecodes}).
   */
  static boolean belongs(String requestGroup, String instanceGroup, Set<String> withDecodes) {
    return requestGroup.equals(instanceGroup)
        || (instanceGroup.equals(InstanceDescriptor.DEFAULT_GROUP)
            && !withDecodes.contains(requestGroup));
  }

  /**
   * The moves for one period (pure): sources by ascending freeness, targets by descending, each
   * pair moving the shortest-running movable request of the source; one move per source and per
   * target per period (their loads are only known again at the next heartbeat).
   */
  static List<Move> plan(
      List<InstanceView> decodes,
      Function<String, List<Candidate>> sessionsOn,
      int room,
      Options options) {
    List<InstanceView> byFreeness =
        decodes.stream().sorted(Comparator.comparingDouble(Rebalancer::freeness)).toList();
    List<Move> moves = new ArrayList<>();
    Set<String> used = new HashSet<>();
    int lo = 0;
    int hi = byFreeness.size() - 1;
    while (lo < hi && moves.size() < room) {
      InstanceView source = byFreeness.get(lo);
      InstanceView target = byFreeness.get(hi);
      if (freeness(source) >= options.lowFreeness() || freeness(target) <= options.highFreeness()) {
        break;
      }
      Candidate pick =
          sessionsOn.apply(source.id()).stream()
              .filter(Candidate::movable)
              .filter(
                  c ->
                      target.descriptor().blocksFor(c.lifetimeTokens())
                          <= target.load().freeKvBlocks())
              .findFirst()
              .orElse(null);
      if (pick != null && used.add(source.id()) && used.add(target.id())) {
        moves.add(new Move(pick.id(), source.id(), target.id()));
      }
      lo++;
      hi--;
    }
    return moves;
  }

  /** Migrations this rebalancer has in flight. */
  public int inFlight() {
    return running.get();
  }
}
