package dev.duet.kvtransfer;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A one-way channel from this process to one peer {@link KvTransferNode}: one-sided writes into the
 * peer's registered regions and ordered notifications.
 *
 * <p>Async model: every operation returns a {@link CompletableFuture} at once (blocking only while
 * the channel's queue of unsent operations is full) and completes on the channel's own threads.
 * CompletableFuture rather than Vert.x {@code Future} because the callers (prefill and decode
 * workers) are blocking compute code; a Vert.x caller converts with {@code
 * Future.fromCompletionStage}. Failures are {@link KvTransferException}s. Cancelling a write's
 * future stops sending its remaining chunks; bytes already sent may have landed.
 *
 * <p>Ordering: operations are performed in the order they were issued on one channel. A {@link
 * #notify} reaches the peer's listener after every write issued before it on the same channel is in
 * place. Threading: safe to use from any number of threads.
 */
public interface TransferChannel extends AutoCloseable {

  /**
   * Writes {@code local.get(i)} at {@code remoteOffsets[i]} in {@code remote}. Adjacent slices
   * (contiguous in local memory and at the target) are coalesced into one large write. The future
   * completes when all bytes are visible in the target's memory.
   */
  CompletableFuture<Void> write(List<MemorySegment> local, KvRegion remote, long[] remoteOffsets);

  /** Writes one contiguous slice at {@code remoteOffset}. */
  default CompletableFuture<Void> write(MemorySegment local, KvRegion remote, long remoteOffset) {
    return write(List.of(local), remote, new long[] {remoteOffset});
  }

  /**
   * Delivers {@code tag} to the peer's {@link NotifyListener} after all writes issued before it on
   * this channel; the future completes once the listener has returned.
   */
  CompletableFuture<Void> notify(long tag);

  /** The transport this channel runs on: {@code "tcp"} or {@code "shm"}. */
  String transport();

  KvEndpoint peer();

  /** False once the channel is closed or its peer has failed; every later operation fails. */
  boolean isOpen();

  /** Fails unfinished operations with {@link KvTransferException.Reason#CLOSED}, frees mappings. */
  @Override
  void close();
}
