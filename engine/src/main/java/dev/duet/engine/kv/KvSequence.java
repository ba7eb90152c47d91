package dev.duet.engine.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The block table of one sequence (one request) in a {@link KvCachePool}: which blocks hold its
 * tokens' keys and values, and how many tokens are present. Token position {@code pos} lives in
 * block {@code blockIds()[pos / blockSize]}, slot {@code pos % blockSize}, in every layer.
 *
 * <p>Not thread-safe: a sequence is owned by one request and used by one thread at a time. The
 * pool's accounting, which it calls into, is thread-safe. After {@link #free()} every method but
 * {@code free()} throws {@link IllegalStateException}.
 */
public final class KvSequence {
  private final KvCachePool pool;
  private final KvLayout layout;
  private int[] blocks;
  private int blockCount;
  private int length;
  private boolean freed;

  KvSequence(KvCachePool pool) {
    this(pool, new int[4], 0, 0);
  }

  private KvSequence(KvCachePool pool, int[] blocks, int blockCount, int length) {
    this.pool = Objects.requireNonNull(pool, "pool");
    this.layout = pool.layout();
    this.blocks = blocks;
    this.blockCount = blockCount;
    this.length = length;
  }

  public KvCachePool pool() {
    return pool;
  }

  /** Tokens whose K and V are present (written by the owner). */
  public int length() {
    checkLive();
    return length;
  }

  /** Tokens the sequence's blocks can hold: blocks * blockSize. */
  public int capacity() {
    checkLive();
    return blockCount * layout.blockSize();
  }

  /** Blocks in the table. */
  public int blockCount() {
    checkLive();
    return blockCount;
  }

  /**
   * Ensures capacity for {@code tokens} tokens in total, allocating every missing block at once.
   * Blocks right after the last one are preferred, so a growing sequence stays contiguous.
   *
   * @throws KvCacheExhaustedException if the pool lacks the blocks; nothing is allocated then
   */
  public void reserve(int tokens) {
    checkLive();
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    }
    int needed = (int) ((tokens + (long) layout.blockSize() - 1) / layout.blockSize());
    int missing = needed - blockCount;
    if (missing <= 0) {
      return;
    }
    int preferred = blockCount == 0 ? -1 : blocks[blockCount - 1] + 1;
    int[] ids = pool.allocate(missing, preferred);
    if (blocks.length < needed) {
      blocks = Arrays.copyOf(blocks, Math.max(needed, 2 * blocks.length));
    }
    System.arraycopy(ids, 0, blocks, blockCount, missing);
    blockCount = needed;
  }

  /** Sets how many tokens are present; 0 &le; {@code tokens} &le; {@link #capacity()}. */
  public void setLength(int tokens) {
    checkLive();
    if (tokens < 0 || tokens > capacity()) {
      throw new IllegalArgumentException(
          "tokens must be in [0, " + capacity() + "] (capacity), got " + tokens);
    }
    length = tokens;
  }

  /** Block id holding token position {@code pos} (0 &le; pos &lt; capacity). */
  public int blockOf(int pos) {
    checkPos(pos);
    return blocks[pos / layout.blockSize()];
  }

  /** Slot within its block of token position {@code pos} (0 &le; pos &lt; capacity). */
  public int slotOf(int pos) {
    checkPos(pos);
    return pos % layout.blockSize();
  }

  /** A copy of the block table, in token order. */
  public int[] blockIds() {
    checkLive();
    return Arrays.copyOf(blocks, blockCount);
  }

  /** Byte offset in the pool's segment of the K row of position {@code pos} in {@code layer}. */
  public long keyOffset(int layer, int pos) {
    return pool.keyOffset(layer, blockOf(pos), slotOf(pos));
  }

  /** Byte offset in the pool's segment of the V row of position {@code pos} in {@code layer}. */
  public long valueOffset(int layer, int pos) {
    return pool.valueOffset(layer, blockOf(pos), slotOf(pos));
  }

  /**
   * A new sequence sharing all of this one's blocks (each retained once more) and its length, for
   * prefix sharing. The blocks are shared, not copied: a write into a shared block (e.g. appending
   * past the length into a partly filled last block) is seen by both sequences, so owners that
   * diverge must fork at a block boundary or copy the last block first.
   */
  public KvSequence fork() {
    checkLive();
    int retained = 0;
    try {
      for (; retained < blockCount; retained++) {
        pool.retain(blocks[retained]);
      }
    } catch (RuntimeException e) {
      for (int i = 0; i < retained; i++) {
        pool.release(blocks[i]);
      }
      throw e;
    }
    return new KvSequence(pool, Arrays.copyOf(blocks, Math.max(4, blockCount)), blockCount, length);
  }

  /** Releases every block. Idempotent. */
  public void free() {
    if (freed) {
      return;
    }
    freed = true;
    for (int i = 0; i < blockCount; i++) {
      pool.release(blocks[i]);
    }
    blockCount = 0;
    length = 0;
  }

  public boolean isFreed() {
    return freed;
  }

  // ---- slices for the transport ----

  /** Byte ranges of {@code layer}'s blocks (whole blocks, K and V), adjacent blocks coalesced. */
  public List<KvSlice> layerSlices(int layer) {
    checkLive();
    return layerSlices(layer, 0, blockCount);
  }

  /**
   * Byte ranges in {@code layer} of the blocks at table indices {@code [fromBlockIndex,
   * toBlockIndex)}, adjacent blocks coalesced, in table order.
   */
  public List<KvSlice> layerSlices(int layer, int fromBlockIndex, int toBlockIndex) {
    checkLive();
    Objects.checkIndex(layer, layout.numLayers());
    Objects.checkFromToIndex(fromBlockIndex, toBlockIndex, blockCount);
    List<KvSlice> out = new ArrayList<>();
    long blockBytes = layout.blockBytes();
    int i = fromBlockIndex;
    while (i < toBlockIndex) {
      int j = i + 1;
      while (j < toBlockIndex && blocks[j] == blocks[j - 1] + 1) {
        j++;
      }
      out.add(new KvSlice(pool.blockOffset(layer, blocks[i]), (j - i) * blockBytes));
      i = j;
    }
    return out;
  }

  /**
   * Byte ranges of every layer's blocks, layer by layer in table order, coalesced (see {@link
   * KvSlice#coalesce}).
   */
  public List<KvSlice> slices() {
    checkLive();
    List<KvSlice> all = new ArrayList<>();
    for (int layer = 0; layer < layout.numLayers(); layer++) {
      all.addAll(layerSlices(layer));
    }
    return KvSlice.coalesce(all);
  }

  private void checkPos(int pos) {
    checkLive();
    if (pos < 0 || pos >= blockCount * layout.blockSize()) {
      throw new IndexOutOfBoundsException(
          "pos must be in [0, " + capacity() + ") (capacity), got " + pos);
    }
  }

  private void checkLive() {
    if (freed) {
      throw new IllegalStateException("KV sequence has been freed");
    }
  }
}
