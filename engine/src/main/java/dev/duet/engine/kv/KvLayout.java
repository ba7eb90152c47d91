package dev.duet.engine.kv;

import java.util.Objects;

/**
 * Shape of a {@link KvCachePool}: how many layers, heads and blocks it holds and in which element
 * type. The pool's memory is laid out as {@code [layer][block][K|V][slot][kvDim]}, so for one layer
 * the blocks with consecutive ids are adjacent in memory.
 *
 * <p>Immutable and thread-safe.
 *
 * @param numLayers transformer layers, each with its own K and V
 * @param numKvHeads key/value heads per layer (fewer than query heads under GQA)
 * @param headDim elements per head
 * @param blockSize tokens per block
 * @param numBlocks blocks per layer (the same block id is used in every layer)
 * @param dtype element type of the stored keys and values
 */
public record KvLayout(
    int numLayers, int numKvHeads, int headDim, int blockSize, int numBlocks, KvDtype dtype) {

  /** Tokens per block used by {@link #of(int, int, int, int, KvDtype)}. */
  public static final int DEFAULT_BLOCK_SIZE = 16;

  public KvLayout {
    requirePositive("numLayers", numLayers);
    requirePositive("numKvHeads", numKvHeads);
    requirePositive("headDim", headDim);
    requirePositive("blockSize", blockSize);
    requirePositive("numBlocks", numBlocks);
    Objects.requireNonNull(dtype, "dtype");
    try {
      long kvDim = Math.multiplyExact(numKvHeads, headDim);
      long row = Math.multiplyExact(kvDim, (long) dtype.bytes());
      long block = Math.multiplyExact(2L * blockSize, row);
      long layer = Math.multiplyExact(block, (long) numBlocks);
      Math.multiplyExact(layer, (long) numLayers);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(
          "KV layout too large: numLayers="
              + numLayers
              + ", numKvHeads="
              + numKvHeads
              + ", headDim="
              + headDim
              + ", blockSize="
              + blockSize
              + ", numBlocks="
              + numBlocks,
          e);
    }
  }

  /** A layout with {@link #DEFAULT_BLOCK_SIZE} tokens per block. */
  public static KvLayout of(
      int numLayers, int numKvHeads, int headDim, int numBlocks, KvDtype dtype) {
    return new KvLayout(numLayers, numKvHeads, headDim, DEFAULT_BLOCK_SIZE, numBlocks, dtype);
  }

  /** Elements in one token's K (or V) for one layer: numKvHeads * headDim. */
  public int kvDim() {
    return numKvHeads * headDim;
  }

  /** Bytes in one token's K (or V) for one layer. */
  public long rowBytes() {
    return (long) kvDim() * dtype.bytes();
  }

  /** Bytes of one block in one layer: the K part ({@code blockSize} rows) then the V part. */
  public long blockBytes() {
    return 2L * blockSize * rowBytes();
  }

  /** Bytes of one layer: all its blocks. */
  public long layerBytes() {
    return numBlocks * blockBytes();
  }

  /** Bytes of the whole pool. */
  public long totalBytes() {
    return numLayers * layerBytes();
  }

  /** Bytes one token occupies across all layers, K and V. */
  public long bytesPerToken() {
    return 2L * numLayers * rowBytes();
  }

  private static void requirePositive(String field, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(field + " must be > 0, got " + value);
    }
  }
}
