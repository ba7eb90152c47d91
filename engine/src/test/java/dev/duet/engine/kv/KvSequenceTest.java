package dev.duet.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class KvSequenceTest {
  // 2 layers, kvDim 4, 4 tokens per block, 8 blocks, F32: rowBytes 16, blockBytes 128.
  private final KvLayout layout = new KvLayout(2, 1, 4, 4, 8, KvDtype.F32);
  private final KvCachePool pool = new KvCachePool(layout);

  @AfterEach
  void close() {
    pool.close();
  }

  @Test
  void reserveAllocatesOnlyTheMissingBlocksAndLengthStaysWithinCapacity() {
    KvSequence seq = pool.newSequence();
    assertThat(seq.capacity()).isZero();
    assertThat(seq.length()).isZero();

    seq.reserve(5);
    assertThat(seq.blockIds()).containsExactly(0, 1);
    assertThat(seq.capacity()).isEqualTo(8);
    seq.reserve(8);
    seq.reserve(3);
    assertThat(seq.blockIds()).containsExactly(0, 1);
    seq.reserve(9);
    assertThat(seq.blockIds()).containsExactly(0, 1, 2);
    assertThat(pool.usedBlocks()).isEqualTo(3);

    seq.setLength(12);
    assertThat(seq.length()).isEqualTo(12);
    assertThatThrownBy(() -> seq.setLength(13))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tokens must be in [0, 12] (capacity), got 13");
    assertThatThrownBy(() -> seq.reserve(-1)).hasMessage("tokens must be >= 0, got -1");
  }

  @Test
  void positionsMapToTheirBlockAndSlot() {
    KvSequence other = pool.newSequence();
    other.reserve(4); // block 0
    KvSequence seq = pool.newSequence();
    seq.reserve(4); // block 1
    other.reserve(8); // block 2
    seq.reserve(10); // blocks 1, 3, 4

    assertThat(seq.blockIds()).containsExactly(1, 3, 4);
    assertThat(seq.blockOf(0)).isEqualTo(1);
    assertThat(seq.slotOf(3)).isEqualTo(3);
    assertThat(seq.blockOf(4)).isEqualTo(3);
    assertThat(seq.slotOf(4)).isZero();
    assertThat(seq.blockOf(11)).isEqualTo(4);
    assertThat(seq.slotOf(11)).isEqualTo(3);
    assertThat(seq.keyOffset(1, 6)).isEqualTo(pool.keyOffset(1, 3, 2));
    assertThat(seq.valueOffset(0, 9)).isEqualTo(pool.valueOffset(0, 4, 1));
    assertThatThrownBy(() -> seq.blockOf(12)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> seq.slotOf(-1)).isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void aGrowingSequenceTakesTheBlocksRightAfterItsLastOne() {
    KvSequence a = pool.newSequence();
    a.reserve(4); // 0
    KvSequence b = pool.newSequence();
    b.reserve(4); // 1
    a.free(); // 0 free again; 2.. free
    b.reserve(8);

    assertThat(b.blockIds()).containsExactly(1, 2); // not 0, though 0 is the lowest free id
  }

  @Test
  void forkSharesEveryBlockAndTheLength() {
    KvSequence seq = pool.newSequence();
    seq.reserve(6);
    seq.setLength(6);
    pool.storeRow(seq.keyOffset(1, 5), new float[] {1, 2, 3, 4}, 0, 4);

    KvSequence fork = seq.fork();
    assertThat(fork.blockIds()).containsExactly(seq.blockIds());
    assertThat(fork.length()).isEqualTo(6);
    float[] row = new float[4];
    pool.loadRow(fork.keyOffset(1, 5), row, 0, 4);
    assertThat(row).containsExactly(1, 2, 3, 4);
    assertThat(pool.refCount(0)).isEqualTo(2);

    seq.free();
    assertThat(pool.usedBlocks()).isEqualTo(2);
    fork.reserve(9); // growing the fork does not touch the freed original
    assertThat(fork.blockIds()).containsExactly(0, 1, 2);
    fork.free();
    assertThat(pool.freeBlocks()).isEqualTo(8);
  }

  @Test
  void freeIsIdempotentAndAnyOtherUseAfterItThrows() {
    KvSequence seq = pool.newSequence();
    seq.reserve(10);
    seq.free();
    seq.free();

    assertThat(seq.isFreed()).isTrue();
    assertThat(pool.freeBlocks()).isEqualTo(8);
    List<Executable> uses =
        List.of(
            seq::length,
            seq::capacity,
            seq::blockCount,
            seq::blockIds,
            seq::fork,
            seq::slices,
            () -> seq.reserve(1),
            () -> seq.setLength(0),
            () -> seq.blockOf(0),
            () -> seq.slotOf(0),
            () -> seq.keyOffset(0, 0),
            () -> seq.valueOffset(0, 0),
            () -> seq.layerSlices(0),
            () -> seq.layerSlices(0, 0, 0));
    for (Executable use : uses) {
      assertThatThrownBy(use::execute)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("freed");
    }
  }

  @Test
  void threeContiguousBlocksGiveOneSlicePerLayer() {
    KvSequence seq = pool.newSequence();
    seq.reserve(12);

    for (int layer = 0; layer < 2; layer++) {
      assertThat(seq.layerSlices(layer))
          .containsExactly(new KvSlice(pool.blockOffset(layer, 0), 3 * layout.blockBytes()));
    }
    assertThat(seq.slices()).hasSize(2);
  }

  @Test
  void nonContiguousBlocksGiveOneSlicePerRunInTableOrder() {
    KvSequence a = pool.newSequence();
    a.reserve(12); // 0, 1, 2
    KvSequence b = pool.newSequence();
    b.reserve(8); // 3, 4
    a.reserve(20); // 5, 6
    assertThat(a.blockIds()).containsExactly(0, 1, 2, 5, 6);
    long bb = layout.blockBytes();

    assertThat(a.layerSlices(1))
        .containsExactly(
            new KvSlice(pool.blockOffset(1, 0), 3 * bb),
            new KvSlice(pool.blockOffset(1, 5), 2 * bb));
    // Only the blocks added since a copy of the first two.
    assertThat(a.layerSlices(0, 2, 5))
        .containsExactly(
            new KvSlice(pool.blockOffset(0, 2), bb), new KvSlice(pool.blockOffset(0, 5), 2 * bb));
    assertThat(a.layerSlices(0, 3, 3)).isEmpty();
    assertThatThrownBy(() -> a.layerSlices(0, 4, 6)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> a.layerSlices(2)).isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void aSequenceHoldingEveryBlockIsOneSliceCoveringThePool() {
    KvSequence seq = pool.newSequence();
    seq.reserve(32);

    assertThat(seq.slices()).containsExactly(new KvSlice(0, layout.totalBytes()));
  }

  @Test
  void slicesCoverExactlyTheSequencesBlocksInEveryLayerInOrder() {
    SplittableRandom random = new SplittableRandom(3);
    try (KvCachePool big = new KvCachePool(new KvLayout(3, 2, 2, 2, 40, KvDtype.BF16))) {
      KvLayout l = big.layout();
      List<KvSequence> seqs = new ArrayList<>();
      for (int round = 0; round < 200; round++) {
        if (!seqs.isEmpty() && random.nextInt(3) == 0) {
          seqs.remove(random.nextInt(seqs.size())).free();
        } else if (!seqs.isEmpty() && random.nextBoolean()) {
          KvSequence seq = seqs.get(random.nextInt(seqs.size()));
          try {
            seq.reserve(seq.capacity() + 1 + random.nextInt(6));
          } catch (KvCacheExhaustedException ignored) {
            // fine: the pool is small on purpose, to fragment it
          }
        } else {
          KvSequence seq = big.newSequence();
          try {
            seq.reserve(1 + random.nextInt(6));
            seqs.add(seq);
          } catch (KvCacheExhaustedException e) {
            seq.free();
          }
        }
        for (KvSequence seq : seqs) {
          // Expected stream: (layer, block) for every layer, then every table entry.
          List<int[]> expected = new ArrayList<>();
          for (int layer = 0; layer < l.numLayers(); layer++) {
            for (int id : seq.blockIds()) {
              expected.add(new int[] {layer, id});
            }
          }
          assertThat(blocksCovered(seq.slices(), l)).containsExactlyElementsOf(expected);
          for (int layer = 0; layer < l.numLayers(); layer++) {
            int from = random.nextInt(seq.blockCount() + 1);
            int to = from + random.nextInt(seq.blockCount() - from + 1);
            List<int[]> part = new ArrayList<>();
            for (int i = from; i < to; i++) {
              part.add(new int[] {layer, seq.blockIds()[i]});
            }
            assertThat(blocksCovered(seq.layerSlices(layer, from, to), l))
                .containsExactlyElementsOf(part);
            // Within a layer, no two slices touch: they were coalesced.
            List<KvSlice> slices = seq.layerSlices(layer);
            for (int i = 1; i < slices.size(); i++) {
              assertThat(slices.get(i).offset()).isNotEqualTo(slices.get(i - 1).end());
            }
          }
        }
      }
    }
  }

  /** The (layer, block) of each block-sized piece of the slices, in order. */
  private static List<int[]> blocksCovered(List<KvSlice> slices, KvLayout l) {
    List<int[]> out = new ArrayList<>();
    for (KvSlice s : slices) {
      assertThat(s.offset() % l.blockBytes()).isZero();
      assertThat(s.length() % l.blockBytes()).isZero();
      for (long off = s.offset(); off < s.end(); off += l.blockBytes()) {
        int layer = (int) (off / l.layerBytes());
        int block = (int) (off % l.layerBytes() / l.blockBytes());
        out.add(new int[] {layer, block});
      }
    }
    return out;
  }
}
