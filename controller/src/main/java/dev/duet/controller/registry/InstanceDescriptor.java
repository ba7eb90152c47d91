package dev.duet.controller.registry;

import java.util.Objects;

/**
 * What a worker says about itself when it registers. Immutable.
 *
 * @param id unique instance id
 * @param role its role now (a role flip re-registers)
 * @param endpoint base URL of its control API, e.g. {@code http://127.0.0.1:9001}
 * @param model the model it serves
 * @param kvBlocks KV cache blocks in its pool
 * @param blockSize tokens per KV block
 * @param maxBatch requests it runs at once
 */
public record InstanceDescriptor(
    String id,
    InstanceRole role,
    String endpoint,
    String model,
    int kvBlocks,
    int blockSize,
    int maxBatch) {

  public InstanceDescriptor {
    Objects.requireNonNull(role, "role");
    for (String[] f : new String[][] {{"id", id}, {"endpoint", endpoint}, {"model", model}}) {
      if (f[1] == null || f[1].isBlank()) {
        throw new IllegalArgumentException(f[0] + " must not be blank, got " + f[1]);
      }
    }
    if (kvBlocks < 1 || blockSize < 1 || maxBatch < 1) {
      throw new IllegalArgumentException(
          "kvBlocks, blockSize and maxBatch must be >= 1; got "
              + kvBlocks
              + ", "
              + blockSize
              + ", "
              + maxBatch);
    }
  }

  /** Blocks a request of {@code tokens} tokens (prompt plus output) needs here. */
  public int blocksFor(int tokens) {
    return (tokens + blockSize - 1) / blockSize;
  }
}
