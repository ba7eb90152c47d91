package dev.duet.controller.gateway;

import dev.duet.controller.policy.Policy;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
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
    List<InstanceView> decodes =
        registry.alive().stream()
            .filter(i -> i.descriptor().role() == InstanceRole.DECODE)
            .toList();
    Function<String, List<Candidate>> candidates =
        instance ->
            inFlight.on(instance).stream()
                .map(s -> new Candidate(s.id, s.lifetimeTokens, !s.migrating && s.generated() > 0))
                .toList();
    for (Move m : plan(decodes, candidates, room, options)) {
      running.incrementAndGet();
      LOG.info("rebalancing: moving {} from {} to {}", m.request(), m.source(), m.target());
      migrator.migrate(m.request(), m.target()).onComplete(ar -> running.decrementAndGet());
    }
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
