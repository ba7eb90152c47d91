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
 * @param group the scenario group it serves ({@code duet worker --group}; {@link #DEFAULT_GROUP}
 *     unless given): routing sends it only that group's requests
 */
public record InstanceDescriptor(
    String id,
    InstanceRole role,
    String endpoint,
    String model,
    int kvBlocks,
    int blockSize,
    int maxBatch,
    String group) {

  /** The group of an instance that names none: the policy's default group. */
  public static final String DEFAULT_GROUP = "default";

  /** An instance of the {@link #DEFAULT_GROUP}. */
  public InstanceDescriptor(
      String id,
      InstanceRole role,
      String endpoint,
      String model,
      int kvBlocks,
      int blockSize,
      int maxBatch) {
    this(id, role, endpoint, model, kvBlocks, blockSize, maxBatch, DEFAULT_GROUP);
  }

  public InstanceDescriptor {
    Objects.requireNonNull(role, "role");
    for (String[] f :
        new String[][] {{"id", id}, {"endpoint", endpoint}, {"model", model}, {"group", group}}) {
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

  /** This descriptor with another role (a flip keeps everything else). */
  public InstanceDescriptor withRole(InstanceRole r) {
    return new InstanceDescriptor(id, r, endpoint, model, kvBlocks, blockSize, maxBatch, group);
  }

  /** Blocks a request of {@code tokens} tokens (prompt plus output) needs here. */
  public int blocksFor(int tokens) {
    return (tokens + blockSize - 1) / blockSize;
  }
}
