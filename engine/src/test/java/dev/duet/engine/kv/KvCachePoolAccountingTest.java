package dev.duet.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class KvCachePoolAccountingTest {
  private final List<KvCachePool> pools = new ArrayList<>();

  private KvCachePool pool(int numBlocks, int blockSize) {
    KvCachePool pool = new KvCachePool(new KvLayout(2, 1, 4, blockSize, numBlocks, KvDtype.F32));
    pools.add(pool);
    return pool;
  }

  @AfterEach
  void closePools() {
    pools.forEach(KvCachePool::close);
  }

  @Test
  void aNewPoolHasEveryBlockFree() {
    KvCachePool pool = pool(10, 4);

    assertThat(pool.totalBlocks()).isEqualTo(10);
    assertThat(pool.freeBlocks()).isEqualTo(10);
    assertThat(pool.usedBlocks()).isZero();
  }

  @Test
  void allocationTakesTheLowestContiguousRunAndFallsBackToTheLowestFreeIds() {
    KvCachePool pool = pool(8, 4);
    int[] singles = new int[8];
    for (int i = 0; i < 8; i++) {
      singles[i] = pool.allocate(1)[0];
    }
    assertThat(singles).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
    pool.release(1);
    pool.release(3);
    pool.release(4);
    pool.release(6);

    assertThat(pool.allocate(2)).containsExactly(3, 4); // the only run of 2
    pool.release(3);
    pool.release(4);
    assertThat(pool.allocate(3)).containsExactly(1, 3, 4); // no run of 3: lowest ids
    assertThat(pool.allocate(1)).containsExactly(6);
    assertThat(pool.freeBlocks()).isZero();
  }

  @Test
  void retainKeepsABlockAllocatedUntilTheLastRelease() {
    KvCachePool pool = pool(4, 4);
    int block = pool.allocate(1)[0];
    pool.retain(block);

    pool.release(block);
    assertThat(pool.usedBlocks()).isEqualTo(1);
    assertThat(pool.refCount(block)).isEqualTo(1);

    pool.release(block);
    assertThat(pool.usedBlocks()).isZero();
  }

  @Test
  void releasingOrRetainingAFreeBlockThrowsNamingTheBlock() {
    KvCachePool pool = pool(4, 4);
    pool.release(pool.allocate(1)[0]);

    assertThatThrownBy(() -> pool.release(0))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("block 0");
    assertThatThrownBy(() -> pool.retain(3))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("block 3");
    assertThatThrownBy(() -> pool.release(4)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThat(pool.freeBlocks()).isEqualTo(4);
  }

  @Test
  void anAllocationThatCannotBeMetThrowsWithTheNumbersAndAllocatesNothing() {
    KvCachePool pool = pool(1024, 16);
    pool.allocate(1021);

    assertThatThrownBy(() -> pool.allocate(5))
        .isInstanceOfSatisfying(
            KvCacheExhaustedException.class,
            e -> {
              assertThat(e.neededBlocks()).isEqualTo(5);
              assertThat(e.freeBlocks()).isEqualTo(3);
              assertThat(e.totalBlocks()).isEqualTo(1024);
            })
        .hasMessage("KV cache exhausted: need 5 blocks, 3 of 1024 free (16 tokens per block)");
    assertThat(pool.freeBlocks()).isEqualTo(3);
    assertThat(pool.allocate(3)).containsExactly(1021, 1022, 1023);
  }

  @Test
  void reserveThatCannotBeMetLeavesTheSequenceAndThePoolUnchanged() {
    KvCachePool pool = pool(6, 4);
    KvSequence other = pool.newSequence();
    other.reserve(8); // blocks 0, 1
    KvSequence seq = pool.newSequence();
    seq.reserve(5); // blocks 2, 3

    assertThatThrownBy(() -> seq.reserve(17)) // needs 5 blocks, has 2: 3 more, 2 free
        .isInstanceOf(KvCacheExhaustedException.class)
        .hasMessage("KV cache exhausted: need 3 blocks, 2 of 6 free (4 tokens per block)");

    assertThat(seq.blockIds()).containsExactly(2, 3);
    assertThat(seq.capacity()).isEqualTo(8);
    assertThat(pool.freeBlocks()).isEqualTo(2);
    for (int b = 0; b < 6; b++) {
      assertThat(pool.refCount(b)).isEqualTo(b < 4 ? 1 : 0);
    }
  }

  @Test
  void allocatingAfterCloseThrowsButSequencesCanStillBeFreed() {
    KvCachePool pool = pool(4, 4);
    KvSequence seq = pool.newSequence();
    seq.reserve(4);
    pool.close();

    assertThatThrownBy(() -> pool.allocate(1)).isInstanceOf(IllegalStateException.class);
    seq.free();
    assertThat(pool.freeBlocks()).isEqualTo(4);
  }

  @Test
  void randomAllocationForkAndCancellationKeepExactCounts() {
    for (long seed = 1; seed <= 20; seed++) {
      runRandomWorkload(seed);
    }
  }

  private void runRandomWorkload(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int numBlocks = 64;
    int blockSize = 1 + random.nextInt(8);
    KvCachePool pool = pool(numBlocks, blockSize);
    List<KvSequence> live = new ArrayList<>();
    // The model: expected reference count of each block = number of live sequences holding it.
    for (int step = 0; step < 2_000; step++) {
      int action = random.nextInt(10);
      if (action < 3 || live.isEmpty()) {
        KvSequence seq = pool.newSequence();
        try {
          seq.reserve(random.nextInt(blockSize * 12));
          live.add(seq);
        } catch (KvCacheExhaustedException e) {
          assertThat(seq.blockCount()).isZero();
          seq.free();
        }
      } else if (action < 6) {
        KvSequence seq = live.get(random.nextInt(live.size()));
        int[] before = seq.blockIds();
        int want = seq.capacity() + random.nextInt(blockSize * 4);
        try {
          seq.reserve(want);
          assertThat(seq.capacity()).isGreaterThanOrEqualTo(want);
          assertThat(Arrays.copyOf(seq.blockIds(), before.length)).containsExactly(before);
        } catch (KvCacheExhaustedException e) {
          assertThat(seq.blockIds()).containsExactly(before);
        }
        seq.setLength(random.nextInt(seq.capacity() + 1));
      } else if (action < 7) {
        live.add(live.get(random.nextInt(live.size())).fork());
      } else {
        // A finished or cancelled request: free it, sometimes twice.
        KvSequence seq = live.remove(random.nextInt(live.size()));
        seq.free();
        if (random.nextBoolean()) {
          seq.free();
        }
      }
      assertMatchesModel(pool, live, "seed " + seed + " step " + step);
    }
    live.forEach(KvSequence::free);
    assertThat(pool.freeBlocks()).isEqualTo(pool.totalBlocks());
    assertThat(pool.usedBlocks()).isZero();
  }

  private static void assertMatchesModel(KvCachePool pool, List<KvSequence> live, String where) {
    int[] expected = new int[pool.totalBlocks()];
    for (KvSequence seq : live) {
      int[] ids = seq.blockIds();
      assertThat(ids).as(where).doesNotHaveDuplicates();
      for (int id : ids) {
        expected[id]++;
      }
    }
    int used = 0;
    for (int b = 0; b < expected.length; b++) {
      assertThat(pool.refCount(b)).as("%s block %d", where, b).isEqualTo(expected[b]);
      if (expected[b] > 0) {
        used++;
      }
    }
    assertThat(pool.usedBlocks()).as(where).isEqualTo(used);
    assertThat(pool.freeBlocks()).as(where).isEqualTo(pool.totalBlocks() - used);
  }
}
