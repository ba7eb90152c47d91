package dev.duet.engine.exec;

import dev.duet.engine.kv.KvDtype;

/**
 * Engine settings.
 *
 * @param blockSize tokens per KV block (16 by default)
 * @param kvBlocks KV blocks in the pool; 0 sizes it for {@code maxSequences} full contexts
 * @param maxSequences sequences the automatic KV size must hold at full context
 * @param kvDtype storage type of the KV cache
 * @param prefillChunk most prompt tokens per prefill forward pass
 */
public record EngineOptions(
    int blockSize, int kvBlocks, int maxSequences, KvDtype kvDtype, int prefillChunk) {

  public EngineOptions {
    if (blockSize < 1) {
      throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
    }
    if (kvBlocks < 0) {
      throw new IllegalArgumentException("kvBlocks must be >= 0, got " + kvBlocks);
    }
    if (maxSequences < 1) {
      throw new IllegalArgumentException("maxSequences must be >= 1, got " + maxSequences);
    }
    if (prefillChunk < 1) {
      throw new IllegalArgumentException("prefillChunk must be >= 1, got " + prefillChunk);
    }
  }

  public static EngineOptions defaults() {
    return new EngineOptions(16, 0, 1, KvDtype.F32, 512);
  }

  public EngineOptions withKvBlocks(int blocks) {
    return new EngineOptions(blockSize, blocks, maxSequences, kvDtype, prefillChunk);
  }

  public EngineOptions withMaxSequences(int n) {
    return new EngineOptions(blockSize, kvBlocks, n, kvDtype, prefillChunk);
  }

  public EngineOptions withKvDtype(KvDtype dtype) {
    return new EngineOptions(blockSize, kvBlocks, maxSequences, dtype, prefillChunk);
  }

  public EngineOptions withPrefillChunk(int tokens) {
    return new EngineOptions(blockSize, kvBlocks, maxSequences, kvDtype, tokens);
  }

  /** The pool size in blocks for a model with this context length. */
  int kvBlocksFor(int contextLength) {
    return kvBlocks > 0 ? kvBlocks : maxSequences * ((contextLength + blockSize - 1) / blockSize);
  }
}
