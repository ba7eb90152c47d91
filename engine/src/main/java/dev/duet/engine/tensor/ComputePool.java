package dev.duet.engine.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of platform threads that run one data-parallel loop at a time.
 *
 * <p>{@link #parallelFor} splits {@code [0, n)} into contiguous ranges, a few per thread, which the
 * threads (the caller among them) claim one at a time. Every output element a kernel writes is
 * computed entirely inside one range, so how the work is split never changes a result: the split
 * affects speed only, which is one of the pillars of batch invariance.
 *
 * <p>A decode step dispatches a hundred or so loops of a few hundred microseconds each, so hand-off
 * latency matters: idle workers spin briefly ({@link #SPIN_NANOS}) before parking.
 *
 * <p>Threading: {@code parallelFor} calls are serialized (one loop runs at a time); worker threads
 * are daemons, stopped by {@link #close()}.
 */
public final class ComputePool implements AutoCloseable {

  /** Body of a parallel loop over the index range {@code [from, to)}. */
  @FunctionalInterface
  public interface RangeBody {
    void run(int from, int to);
  }

  /** How long an idle worker spins waiting for the next loop before it parks, in nanoseconds. */
  static final long SPIN_NANOS = 200_000;

  private final int threads;
  private final Thread[] workers;
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final Object submitLock = new Object();

  /**
   * One loop handed to the workers; {@code generation} tells a worker it has not run it yet. The
   * range is cut into {@code chunks} pieces that threads claim one at a time from {@code next}, so
   * a thread that falls behind (an interrupt, a busy neighbour) takes fewer pieces.
   */
  private record Job(
      long generation, RangeBody body, int n, int parts, int chunks, AtomicInteger next) {
    void drain() {
      for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
        body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
      }
    }
  }

  /** Chunks per thread in one loop: enough to even out a straggler, few enough to stay cheap. */
  private static final int CHUNKS_PER_THREAD = 4;

  private volatile Job current = new Job(0, null, 0, 0, 0, new AtomicInteger());
  private volatile boolean closed;
  private final boolean[] sleeping;

  public ComputePool(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    this.threads = threads;
    this.sleeping = new boolean[threads];
    this.workers = new Thread[threads];
    for (int i = 1; i < threads; i++) {
      int part = i;
      workers[i] =
          Thread.ofPlatform().daemon().name("duet-compute-" + i).start(() -> workLoop(part));
    }
  }

  /** A pool with one thread per available processor. */
  public static ComputePool ofAvailableProcessors() {
    return new ComputePool(Runtime.getRuntime().availableProcessors());
  }

  public int threads() {
    return threads;
  }

  /**
   * Runs {@code body} over {@code [0, n)} split in contiguous ranges. Ranges smaller than {@code
   * grain} are not split further, so tiny loops run on the calling thread alone.
   */
  public void parallelFor(int n, int grain, RangeBody body) {
    int parts = Math.min(threads, Math.max(1, n / Math.max(1, grain)));
    if (parts <= 1) {
      body.run(0, n);
      return;
    }
    synchronized (submitLock) {
      if (closed) {
        throw new IllegalStateException("compute pool is closed");
      }
      failure.set(null);
      pending.set(parts - 1);
      int chunks = Math.min(n / Math.max(1, grain), parts * CHUNKS_PER_THREAD);
      Job job =
          new Job(
              current.generation() + 1,
              body,
              n,
              parts,
              Math.max(parts, chunks),
              new AtomicInteger());
      current = job;
      for (int i = 1; i < parts; i++) {
        if (readSleeping(i)) {
          LockSupport.unpark(workers[i]);
        }
      }
      try {
        job.drain();
      } catch (Throwable t) {
        failure.compareAndSet(null, t);
      }
      while (pending.get() > 0) {
        Thread.onSpinWait();
      }
      rethrow(failure.get());
    }
  }

  private void workLoop(int part) {
    long seen = 0;
    while (true) {
      Job job;
      long spinStart = System.nanoTime();
      while ((job = current).generation() == seen) {
        if (closed) {
          return;
        }
        if (System.nanoTime() - spinStart < SPIN_NANOS) {
          Thread.onSpinWait();
        } else {
          writeSleeping(part, true);
          if (current.generation() == seen && !closed) {
            LockSupport.park(this);
          }
          writeSleeping(part, false);
          spinStart = System.nanoTime();
        }
      }
      seen = job.generation();
      if (part < job.parts()) {
        try {
          job.drain();
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        } finally {
          pending.decrementAndGet();
        }
      }
    }
  }

  private boolean readSleeping(int part) {
    synchronized (sleeping) {
      return sleeping[part];
    }
  }

  private void writeSleeping(int part, boolean value) {
    synchronized (sleeping) {
      sleeping[part] = value;
    }
  }

  private static void rethrow(Throwable t) {
    if (t instanceof RuntimeException re) {
      throw re;
    } else if (t instanceof Error err) {
      throw err;
    } else if (t != null) {
      throw new IllegalStateException(t);
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Thread w : workers) {
      if (w != null) {
        LockSupport.unpark(w);
      }
    }
  }
}
