package dev.duet.kvtransfer.shm;

import dev.duet.kvtransfer.KvEndpoint;
import dev.duet.kvtransfer.KvTransferConfig;
import dev.duet.kvtransfer.KvTransport;
import dev.duet.kvtransfer.TransferChannel;
import dev.duet.kvtransfer.wire.ChannelOpener;
import dev.duet.kvtransfer.wire.TransferMetrics;
import dev.duet.kvtransfer.wire.Wire;

/**
 * The {@code shm} transport, for peers on this host: the writer maps the receiver's shm-backed
 * region (a file in the shared-memory filesystem, see {@link ShmSegments}) and copies into it
 * directly, a one-sided write with no copy at the receiver; only small control frames (completions,
 * notifications) cross the socket. A region that is not shm-backed, or whose file this process
 * cannot see, is written over the socket as with tcp. Thread-safe, stateless.
 */
public final class ShmTransport implements KvTransport {
  private final KvTransferConfig config;
  private final TransferMetrics metrics;
  private final String localHostId;

  public ShmTransport(KvTransferConfig config, TransferMetrics metrics, String localHostId) {
    this.config = config;
    this.metrics = metrics;
    this.localHostId = localHostId;
  }

  @Override
  public String name() {
    return "shm";
  }

  @Override
  public boolean reaches(KvEndpoint peer) {
    return peer.hostId().equals(localHostId);
  }

  @Override
  public TransferChannel connect(KvEndpoint peer) {
    return ChannelOpener.open(peer, name(), Wire.MODE_SHM, ShmMapper::new, config, metrics);
  }
}
