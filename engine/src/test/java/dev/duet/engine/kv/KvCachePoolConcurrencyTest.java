package dev.duet.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class KvCachePoolConcurrencyTest {

  @Test
  void threadsAllocatingAndReleasingAtOnceNeverShareABlockAndKeepExactCounts() throws Exception {
    int threads = 4;
    int numBlocks = 48; // small, so the threads contend and often exhaust the pool
    try (KvCachePool pool = new KvCachePool(new KvLayout(1, 1, 4, 4, numBlocks, KvDtype.F16));
        ExecutorService executor = Executors.newFixedThreadPool(threads)) {
      // owner[b] = 1 + index of the thread holding block b, or 0; set right after allocation and
      // cleared right before release, so a block handed to two threads at once is caught.
      AtomicIntegerArray owner = new AtomicIntegerArray(numBlocks);
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Integer>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int me = t + 1;
        results.add(executor.submit(() -> churn(pool, owner, me, start)));
      }
      start.countDown();
      int exhaustions = 0;
      for (Future<Integer> result : results) {
        exhaustions += result.get(60, TimeUnit.SECONDS);
      }

      assertThat(pool.freeBlocks()).isEqualTo(numBlocks);
      assertThat(pool.usedBlocks()).isZero();
      for (int b = 0; b < numBlocks; b++) {
        assertThat(pool.refCount(b)).isZero();
        assertThat(owner.get(b)).isZero();
      }
      assertThat(exhaustions).as("the pool was contended").isPositive();
    }
  }

  /** Returns how many allocations failed for lack of blocks. */
  private static int churn(KvCachePool pool, AtomicIntegerArray owner, int me, CountDownLatch start)
      throws InterruptedException {
    start.await();
    SplittableRandom random = new SplittableRandom(me);
    List<int[]> held = new ArrayList<>();
    int exhaustions = 0;
    for (int i = 0; i < 20_000; i++) {
      if (held.isEmpty() || random.nextBoolean()) {
        try {
          int[] ids = pool.allocate(1 + random.nextInt(6));
          for (int id : ids) {
            if (!owner.compareAndSet(id, 0, me)) {
              throw new AssertionError(
                  "block "
                      + id
                      + " handed to thread "
                      + me
                      + " while held by thread "
                      + owner.get(id));
            }
          }
          held.add(ids);
        } catch (KvCacheExhaustedException e) {
          exhaustions++;
        }
      } else {
        int[] ids = held.remove(random.nextInt(held.size()));
        for (int id : ids) {
          if (!owner.compareAndSet(id, me, 0)) {
            throw new AssertionError("block " + id + " of thread " + me + " was taken");
          }
          pool.release(id);
        }
      }
      int used = pool.usedBlocks();
      int free = pool.freeBlocks();
      if (used < 0 || free < 0 || used > pool.totalBlocks() || free > pool.totalBlocks()) {
        throw new AssertionError("counts out of range: used " + used + ", free " + free);
      }
    }
    for (int[] ids : held) {
      for (int id : ids) {
        owner.set(id, 0);
        pool.release(id);
      }
    }
    return exhaustions;
  }

  @Test
  void threadsForkingAndFreeingSharedSequencesReturnEveryBlock() throws Exception {
    try (KvCachePool pool = new KvCachePool(new KvLayout(1, 1, 4, 4, 64, KvDtype.F32));
        ExecutorService executor = Executors.newFixedThreadPool(2)) {
      KvSequence prefix = pool.newSequence();
      prefix.reserve(32); // 8 shared blocks
      List<KvSequence> forks = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        forks.add(prefix.fork());
      }
      prefix.free();
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> results = new ArrayList<>();
      for (KvSequence fork : forks) {
        results.add(
            executor.submit(
                () -> {
                  start.await();
                  for (int i = 0; i < 5_000; i++) {
                    KvSequence child = fork.fork();
                    try {
                      child.reserve(child.capacity() + 4 * (1 + i % 30));
                    } catch (KvCacheExhaustedException ignored) {
                      // contended: the other thread holds the rest
                    }
                    child.free();
                  }
                  fork.free();
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> result : results) {
        result.get(60, TimeUnit.SECONDS);
      }

      assertThat(pool.freeBlocks()).isEqualTo(64);
      assertThat(pool.usedBlocks()).isZero();
    }
  }
}
