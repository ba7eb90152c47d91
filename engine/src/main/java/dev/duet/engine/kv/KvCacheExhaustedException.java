package dev.duet.engine.kv;

/**
 * Thrown when a {@link KvCachePool} has fewer free blocks than an allocation needs. Nothing is
 * allocated when this is thrown; the caller may wait for blocks to be released, or preempt a
 * sequence, and retry.
 */
public class KvCacheExhaustedException extends RuntimeException {
  private final int neededBlocks;
  private final int freeBlocks;
  private final int totalBlocks;

  public KvCacheExhaustedException(
      int neededBlocks, int freeBlocks, int totalBlocks, int blockSize) {
    super(
        "KV cache exhausted: need "
            + neededBlocks
            + " blocks, "
            + freeBlocks
            + " of "
            + totalBlocks
            + " free ("
            + blockSize
            + " tokens per block)");
    this.neededBlocks = neededBlocks;
    this.freeBlocks = freeBlocks;
    this.totalBlocks = totalBlocks;
  }

  /** Blocks the failed allocation asked for. */
  public int neededBlocks() {
    return neededBlocks;
  }

  /** Blocks that were free when it failed. */
  public int freeBlocks() {
    return freeBlocks;
  }

  /** Blocks in the pool. */
  public int totalBlocks() {
    return totalBlocks;
  }
}
