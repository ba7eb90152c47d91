package dev.duet.kvtransfer;

/**
 * The writer side of one way to move bytes into a peer's registered regions: the seam where an RDMA
 * (NIXL, Mooncake) or CUDA IPC transport slots in next to {@code tcp} and {@code shm}.
 *
 * <p>A transport opens channels; registration and the receiving side belong to the {@link
 * KvTransferNode}, which serves every transport's control traffic on one socket. Implementations
 * are thread-safe.
 */
public interface KvTransport {

  /** The transport's name in configuration, metrics and messages ({@code tcp}, {@code shm}). */
  String name();

  /** Whether this transport can reach {@code peer} from here (e.g. shm: same host only). */
  boolean reaches(KvEndpoint peer);

  /**
   * Opens a channel to {@code peer}, authenticating with the configured secret.
   *
   * @throws KvTransferException if the peer cannot be reached or rejects the channel
   */
  TransferChannel connect(KvEndpoint peer);
}
