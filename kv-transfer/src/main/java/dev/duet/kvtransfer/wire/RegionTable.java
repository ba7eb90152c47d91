package dev.duet.kvtransfer.wire;

import dev.duet.kvtransfer.KvRegion;
import dev.duet.kvtransfer.KvTransferException.Reason;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The regions a node has registered, by id, with the checks every incoming write passes.
 *
 * <p>Threading: thread-safe; registration and lookups may race freely. A region deregistered while
 * a write into it is being received still gets that write (the caller must keep the memory alive
 * until its writers are done).
 */
public final class RegionTable {

  /**
   * A registered region.
   *
   * @param handle what writers hold
   * @param segment the target memory
   * @param shmFile the shm file backing the memory, or null when it is not shm-backed
   * @param fileOffset where {@code segment} starts in {@code shmFile}, in bytes
   */
  public record Entry(KvRegion handle, MemorySegment segment, Path shmFile, long fileOffset)
      implements Check {}

  /** The outcome of {@link #check}: the entry or a rejection. */
  public sealed interface Check permits Entry, Rejection {}

  private final Map<Long, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicLong nextId = new AtomicLong(1);
  private final SecureRandom random = new SecureRandom();

  public KvRegion register(MemorySegment segment, Path shmFile, long fileOffset) {
    if (segment.byteSize() == 0) {
      throw new IllegalArgumentException("cannot register an empty segment");
    }
    KvRegion handle = new KvRegion(nextId.getAndIncrement(), segment.byteSize(), random.nextLong());
    entries.put(handle.id(), new Entry(handle, segment, shmFile, fileOffset));
    return handle;
  }

  public boolean deregister(KvRegion region) {
    return entries.remove(region.id()) != null;
  }

  public int size() {
    return entries.size();
  }

  /** The entry, after checking key and bounds, or a {@link Rejection} saying why not. */
  public Check check(long regionId, long key, long offset, long length) {
    Entry e = entries.get(regionId);
    if (e == null) {
      return new Rejection(Reason.UNKNOWN_REGION, "no region " + regionId + " is registered");
    }
    if (e.handle().accessKey() != key) {
      return new Rejection(Reason.BAD_ACCESS_KEY, "wrong access key for region " + regionId);
    }
    long size = e.segment().byteSize();
    if (offset < 0 || length < 0 || offset > size - length) {
      return new Rejection(
          Reason.OUT_OF_BOUNDS,
          "write of "
              + length
              + " bytes at offset "
              + offset
              + " is outside region "
              + regionId
              + " of "
              + size
              + " bytes");
    }
    return e;
  }

  /** Why a request was refused. */
  public record Rejection(Reason reason, String message) implements Check {}
}
