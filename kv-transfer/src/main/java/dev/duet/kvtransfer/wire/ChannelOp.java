package dev.duet.kvtransfer.wire;

import dev.duet.kvtransfer.KvRegion;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One operation queued on a {@link SocketTransferChannel}: a write ({@code plan != null}) or a
 * notify. Threading: created by the caller, sent by the channel's sender thread, completed by its
 * reader thread (or by a timeout, a cancel, a failure); {@code remaining} and {@code future} are
 * the only state they share.
 */
final class ChannelOp {
  final WritePlan plan;
  final KvRegion region;
  final long tag;

  /** System.nanoTime() at issue, for the duration metric. */
  final long startNanos = System.nanoTime();

  /** Frames still unacknowledged; set by the sender before the first frame goes out. */
  final AtomicInteger remaining = new AtomicInteger(1);

  final CompletableFuture<Void> future = new CompletableFuture<>();

  ChannelOp(WritePlan plan, KvRegion region, long tag) {
    this.plan = plan;
    this.region = region;
    this.tag = tag;
  }

  /** An unanswered request: the op it belongs to and its payload bytes, or a MAP's answer. */
  record Ticket(ChannelOp op, int permits, CompletableFuture<RegionMapper.Location> where) {}
}
