package dev.duet.kvtransfer.tcp;

import dev.duet.kvtransfer.KvEndpoint;
import dev.duet.kvtransfer.KvTransferConfig;
import dev.duet.kvtransfer.KvTransport;
import dev.duet.kvtransfer.TransferChannel;
import dev.duet.kvtransfer.wire.ChannelOpener;
import dev.duet.kvtransfer.wire.TransferMetrics;
import dev.duet.kvtransfer.wire.Wire;

/**
 * The {@code tcp} transport: every byte travels over the channel's socket in frames of up to {@code
 * chunkBytes}, written from the caller's native memory with gathering writes and read by the
 * receiver straight into the target region. Works across hosts. Thread-safe, stateless.
 */
public final class TcpTransport implements KvTransport {
  private final KvTransferConfig config;
  private final TransferMetrics metrics;

  public TcpTransport(KvTransferConfig config, TransferMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
  }

  @Override
  public String name() {
    return "tcp";
  }

  @Override
  public boolean reaches(KvEndpoint peer) {
    return true;
  }

  @Override
  public TransferChannel connect(KvEndpoint peer) {
    return ChannelOpener.open(peer, name(), Wire.MODE_TCP, () -> null, config, metrics);
  }
}
