package dev.duet.engine.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.BitSet;
import java.util.Objects;

/**
 * A paged KV cache: one off-heap, 64-byte aligned, zeroed {@link MemorySegment} divided into
 * fixed-size blocks, with reference-counted block accounting.
 *
 * <p>Memory layout: {@code [layer][block][K|V][slot][kvDim]} (see {@link KvLayout}). Block ids are
 * shared by all layers: block {@code b} of layer {@code l} starts at {@code l * layerBytes + b *
 * blockBytes}. Because consecutive block ids are adjacent within a layer, the allocator prefers the
 * lowest run of free ids long enough for a request, so a sequence's blocks stay contiguous and the
 * transport can move a layer of a sequence as few large slices.
 *
 * <p>Threading: block accounting ({@link #allocate}, {@link #retain}, {@link #release} and the
 * counters) is guarded by a lock and may be called from any thread. The data is not guarded: rows
 * of a block are written by the single owner of the sequence holding it ({@link KvSequence}), and
 * readers must be ordered after writers by the caller (e.g. one scheduler thread per step). The
 * segment comes from a shared arena so any thread may access it; {@link #close()} frees it, after
 * which any access throws {@link IllegalStateException}. A pool can also sit on memory the caller
 * owns (a transport's registered shared-memory mapping), which {@code close()} leaves alone.
 */
public final class KvCachePool implements AutoCloseable {
  private static final long ALIGNMENT = 64;
  // Little-endian whatever the platform, so pools on two machines hold the same bytes.
  private static final ValueLayout.OfFloat FLOAT =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort SHORT =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final KvLayout layout;
  private final Arena arena;
  private final MemorySegment segment;
  private final Object lock = new Object();

  // Guarded by lock. A set bit means the block is free; refCounts[b] > 0 exactly when it is not.
  private final BitSet free;
  private final int[] refCounts;
  private int freeCount;
  private boolean closed;

  public KvCachePool(KvLayout layout) {
    this(layout, Arena.ofShared(), null);
  }

  /**
   * A pool over memory the caller provides and keeps owning (e.g. a shared-memory mapping that a KV
   * transport registered, so peers can write blocks into it): {@link #close()} does not free it.
   *
   * @throws IllegalArgumentException when {@code memory} is smaller than {@link
   *     KvLayout#totalBytes()} or not 64-byte aligned
   */
  public KvCachePool(KvLayout layout, MemorySegment memory) {
    this(layout, null, Objects.requireNonNull(memory, "memory"));
  }

  private KvCachePool(KvLayout layout, Arena arena, MemorySegment memory) {
    this.layout = Objects.requireNonNull(layout, "layout");
    if (memory != null) {
      if (memory.byteSize() < layout.totalBytes()) {
        throw new IllegalArgumentException(
            "the KV layout needs "
                + layout.totalBytes()
                + " bytes; the memory given has "
                + memory.byteSize());
      }
      if (memory.address() % ALIGNMENT != 0) {
        throw new IllegalArgumentException(
            "KV memory must be " + ALIGNMENT + "-byte aligned, got address " + memory.address());
      }
    }
    this.arena = arena;
    this.segment =
        memory != null
            ? memory.asSlice(0, layout.totalBytes())
            : arena.allocate(layout.totalBytes(), ALIGNMENT); // zero-filled
    this.free = new BitSet(layout.numBlocks());
    free.set(0, layout.numBlocks());
    this.refCounts = new int[layout.numBlocks()];
    this.freeCount = layout.numBlocks();
  }

  public KvLayout layout() {
    return layout;
  }

  /** The whole pool, {@link KvLayout#totalBytes()} bytes. */
  public MemorySegment segment() {
    return segment;
  }

  /** A new, empty sequence drawing its blocks from this pool. */
  public KvSequence newSequence() {
    return new KvSequence(this);
  }

  // ---- offsets (bytes into segment()) ----

  /** Byte offset of block {@code block} of layer {@code layer}: its K part, then its V part. */
  public long blockOffset(int layer, int block) {
    Objects.checkIndex(layer, layout.numLayers());
    Objects.checkIndex(block, layout.numBlocks());
    return layer * layout.layerBytes() + block * layout.blockBytes();
  }

  /** Byte offset of the K row ({@code kvDim} elements) of {@code slot} in a block of a layer. */
  public long keyOffset(int layer, int block, int slot) {
    Objects.checkIndex(slot, layout.blockSize());
    return blockOffset(layer, block) + slot * layout.rowBytes();
  }

  /** Byte offset of the V row ({@code kvDim} elements) of {@code slot} in a block of a layer. */
  public long valueOffset(int layer, int block, int slot) {
    Objects.checkIndex(slot, layout.blockSize());
    return blockOffset(layer, block) + (layout.blockSize() + slot) * layout.rowBytes();
  }

  // ---- block accounting ----

  public int totalBlocks() {
    return layout.numBlocks();
  }

  public int freeBlocks() {
    synchronized (lock) {
      return freeCount;
    }
  }

  public int usedBlocks() {
    synchronized (lock) {
      return layout.numBlocks() - freeCount;
    }
  }

  /**
   * Allocates {@code n} blocks, each with reference count 1, or none at all. Takes the lowest run
   * of {@code n} consecutive free ids if there is one, else the {@code n} lowest free ids.
   *
   * @return the block ids, in ascending order
   * @throws KvCacheExhaustedException when fewer than {@code n} blocks are free
   */
  public int[] allocate(int n) {
    return allocate(n, -1);
  }

  /**
   * Like {@link #allocate(int)}, but first tries the run starting at {@code preferredFirst} (the id
   * after a sequence's last block, so that a growing sequence stays contiguous); a negative or
   * out-of-range {@code preferredFirst} is ignored.
   */
  int[] allocate(int n, int preferredFirst) {
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, got " + n);
    }
    synchronized (lock) {
      checkOpen();
      if (n > freeCount) {
        throw new KvCacheExhaustedException(n, freeCount, layout.numBlocks(), layout.blockSize());
      }
      int[] ids = new int[n];
      if (n == 0) {
        return ids;
      }
      int start = -1;
      if (preferredFirst >= 0
          && preferredFirst <= layout.numBlocks() - n
          && free.nextClearBit(preferredFirst) >= preferredFirst + n) {
        start = preferredFirst;
      } else {
        start = firstFreeRun(n);
      }
      if (start >= 0) {
        for (int i = 0; i < n; i++) {
          ids[i] = start + i;
        }
      } else {
        int b = free.nextSetBit(0);
        for (int i = 0; i < n; i++, b = free.nextSetBit(b + 1)) {
          ids[i] = b;
        }
      }
      for (int id : ids) {
        free.clear(id);
        refCounts[id] = 1;
      }
      freeCount -= n;
      return ids;
    }
  }

  /** First id of the lowest run of {@code n} free blocks, or -1. Caller holds the lock. */
  private int firstFreeRun(int n) {
    int start = free.nextSetBit(0);
    while (start >= 0 && start <= layout.numBlocks() - n) {
      int end = free.nextClearBit(start); // exclusive; numBlocks if free to the end
      if (end - start >= n) {
        return start;
      }
      start = free.nextSetBit(end);
    }
    return -1;
  }

  /**
   * Adds a reference to an allocated block (a sequence sharing it).
   *
   * @throws IllegalStateException if the block is free
   */
  public void retain(int block) {
    Objects.checkIndex(block, layout.numBlocks());
    synchronized (lock) {
      if (refCounts[block] == 0) {
        throw new IllegalStateException("cannot retain block " + block + ": it is free");
      }
      if (refCounts[block] == Integer.MAX_VALUE) {
        throw new IllegalStateException("reference count of block " + block + " overflows");
      }
      refCounts[block]++;
    }
  }

  /**
   * Drops a reference to a block; at zero the block becomes free.
   *
   * @throws IllegalStateException if the block is already free
   */
  public void release(int block) {
    Objects.checkIndex(block, layout.numBlocks());
    synchronized (lock) {
      if (refCounts[block] == 0) {
        throw new IllegalStateException("cannot release block " + block + ": it is already free");
      }
      if (--refCounts[block] == 0) {
        free.set(block);
        freeCount++;
      }
    }
  }

  /** Current reference count of a block (0 when free); for tests and diagnostics. */
  int refCount(int block) {
    Objects.checkIndex(block, layout.numBlocks());
    synchronized (lock) {
      return refCounts[block];
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("KV cache pool is closed");
    }
  }

  // ---- row access ----

  /**
   * Writes {@code len} floats from {@code src[srcOff..]} at {@code byteOffset}, converting them to
   * the pool's dtype ({@code len * dtype.bytes()} bytes written).
   */
  public void storeRow(long byteOffset, float[] src, int srcOff, int len) {
    Objects.checkFromIndexSize(srcOff, len, src.length);
    switch (layout.dtype()) {
      case F32 -> MemorySegment.copy(src, srcOff, segment, FLOAT, byteOffset, len);
      case F16 -> {
        MemorySegment dst = segment.asSlice(byteOffset, 2L * len);
        for (int i = 0; i < len; i++) {
          dst.set(SHORT, 2L * i, Float.floatToFloat16(src[srcOff + i]));
        }
      }
      case BF16 -> {
        MemorySegment dst = segment.asSlice(byteOffset, 2L * len);
        for (int i = 0; i < len; i++) {
          dst.set(SHORT, 2L * i, Bf16.fromFloat(src[srcOff + i]));
        }
      }
    }
  }

  /**
   * Reads {@code len} elements at {@code byteOffset} into {@code dst[dstOff..]} as floats
   * (conversion from F16 and BF16 is exact).
   */
  public void loadRow(long byteOffset, float[] dst, int dstOff, int len) {
    Objects.checkFromIndexSize(dstOff, len, dst.length);
    switch (layout.dtype()) {
      case F32 -> MemorySegment.copy(segment, FLOAT, byteOffset, dst, dstOff, len);
      case F16 -> {
        MemorySegment src = segment.asSlice(byteOffset, 2L * len);
        for (int i = 0; i < len; i++) {
          dst[dstOff + i] = Float.float16ToFloat(src.get(SHORT, 2L * i));
        }
      }
      case BF16 -> {
        MemorySegment src = segment.asSlice(byteOffset, 2L * len);
        for (int i = 0; i < len; i++) {
          dst[dstOff + i] = Bf16.toFloat(src.get(SHORT, 2L * i));
        }
      }
    }
  }

  /**
   * Frees the memory. Idempotent. Afterwards {@link #allocate} and any access to the data throw
   * {@link IllegalStateException}; {@link #retain}/{@link #release} still keep count, so sequences
   * that outlive the pool can still be freed.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    if (arena != null) {
      arena.close();
    }
  }
}
