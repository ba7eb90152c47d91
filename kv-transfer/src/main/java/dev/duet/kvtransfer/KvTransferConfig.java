package dev.duet.kvtransfer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Configuration of a {@link KvTransferNode}. Immutable; validated on construction.
 *
 * @param bindHost the address the control socket binds to and advertises
 * @param port the control socket's port; 0 picks a free one
 * @param name this node's name as writer, shown to peers' listeners and in their logs
 * @param transport which transport {@link KvTransferNode#connect} uses
 * @param secret a shared secret that authenticates channels when they open (HMAC over a nonce);
 *     empty means channels are not authenticated
 * @param maxBytesInFlight bytes a channel may have sent but not yet acknowledged (backpressure)
 * @param chunkBytes the largest single write frame; coalesced runs are split into chunks this big
 * @param timeout how long one write or notify may take before its future fails
 * @param peerSilence how long a channel with unanswered requests waits for any reply before it
 *     declares the peer dead (catches a vanished host that sends no reset)
 * @param shmDir the shared-memory directory for shm-backed regions
 */
public record KvTransferConfig(
    String bindHost,
    int port,
    String name,
    Mode transport,
    Optional<String> secret,
    long maxBytesInFlight,
    int chunkBytes,
    Duration timeout,
    Duration peerSilence,
    Path shmDir) {

  /** Transport selection. */
  public enum Mode {
    /** shm when the peer is on this host, else tcp. */
    AUTO,
    TCP,
    SHM
  }

  public KvTransferConfig {
    if (bindHost == null || bindHost.isBlank()) {
      throw new IllegalArgumentException("bindHost must not be blank");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be 0..65535, got " + port);
    }
    if (name == null || name.isBlank() || name.length() > 200) {
      throw new IllegalArgumentException("name must be 1..200 characters, got '" + name + "'");
    }
    if (transport == null || secret == null || timeout == null || shmDir == null) {
      throw new IllegalArgumentException("transport, secret, timeout and shmDir must not be null");
    }
    if (chunkBytes < 4096) {
      throw new IllegalArgumentException("chunkBytes must be at least 4096, got " + chunkBytes);
    }
    if (maxBytesInFlight > 1L << 30) {
      throw new IllegalArgumentException(
          "maxBytesInFlight must be at most 1 GiB, got " + maxBytesInFlight);
    }
    if (maxBytesInFlight < chunkBytes) {
      throw new IllegalArgumentException(
          "maxBytesInFlight ("
              + maxBytesInFlight
              + ") must be at least chunkBytes ("
              + chunkBytes
              + ")");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }
    if (peerSilence == null || peerSilence.toMillis() < 100) {
      throw new IllegalArgumentException("peerSilence must be at least 100 ms, got " + peerSilence);
    }
  }

  /**
   * Loopback, a free port, AUTO, no secret, 64 MiB in flight, 4 MiB chunks, 30 s timeout, 5 s peer
   * silence, /dev/shm.
   */
  public static KvTransferConfig defaults() {
    return new KvTransferConfig(
        "127.0.0.1",
        0,
        "kv-" + ProcessHandle.current().pid(),
        Mode.AUTO,
        Optional.empty(),
        64L << 20,
        4 << 20,
        Duration.ofSeconds(30),
        Duration.ofSeconds(5),
        Path.of("/dev/shm"));
  }

  public KvTransferConfig withTransport(Mode m) {
    return new KvTransferConfig(
        bindHost,
        port,
        name,
        m,
        secret,
        maxBytesInFlight,
        chunkBytes,
        timeout,
        peerSilence,
        shmDir);
  }

  public KvTransferConfig withSecret(String s) {
    return new KvTransferConfig(
        bindHost,
        port,
        name,
        transport,
        Optional.ofNullable(s),
        maxBytesInFlight,
        chunkBytes,
        timeout,
        peerSilence,
        shmDir);
  }

  public KvTransferConfig withName(String n) {
    return new KvTransferConfig(
        bindHost,
        port,
        n,
        transport,
        secret,
        maxBytesInFlight,
        chunkBytes,
        timeout,
        peerSilence,
        shmDir);
  }

  public KvTransferConfig withTimeout(Duration t) {
    return new KvTransferConfig(
        bindHost,
        port,
        name,
        transport,
        secret,
        maxBytesInFlight,
        chunkBytes,
        t,
        peerSilence,
        shmDir);
  }

  public KvTransferConfig withPeerSilence(Duration d) {
    return new KvTransferConfig(
        bindHost, port, name, transport, secret, maxBytesInFlight, chunkBytes, timeout, d, shmDir);
  }

  public KvTransferConfig withShmDir(Path dir) {
    return new KvTransferConfig(
        bindHost,
        port,
        name,
        transport,
        secret,
        maxBytesInFlight,
        chunkBytes,
        timeout,
        peerSilence,
        dir);
  }

  public KvTransferConfig withFlow(long bytesInFlight, int chunk) {
    return new KvTransferConfig(
        bindHost,
        port,
        name,
        transport,
        secret,
        bytesInFlight,
        chunk,
        timeout,
        peerSilence,
        shmDir);
  }
}
