package dev.duet.kvtransfer.wire;

import dev.duet.kvtransfer.KvRegion;
import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * How a channel reaches a peer's region directly (shm: a mapping of the peer's file). A channel
 * without one sends every byte over its socket.
 *
 * <p>Threading: used only by the channel's sender thread, which also closes it.
 */
public interface RegionMapper extends AutoCloseable {

  /** Where the peer said a region lives (the answer to a MAP request). */
  record Location(long length, long fileOffset, String path) {}

  /** Asks the peer where a region lives; fails with the peer's rejection (key, unknown region). */
  @FunctionalInterface
  interface Locator {
    Location locate(KvRegion region) throws IOException;
  }

  /**
   * The region's memory, mapped into this process, or null when it cannot be mapped from here (the
   * peer's memory is not shm-backed, or its file is not visible on this host): then the bytes go
   * over the socket.
   */
  MemorySegment map(KvRegion region, Locator locator) throws IOException;

  /** Unmaps everything. */
  @Override
  void close();
}
