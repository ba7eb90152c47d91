package dev.duet.kvtransfer;

/**
 * Where a {@link KvTransferNode} accepts channels: a socket address plus the identity of its host,
 * which lets a writer pick the {@code shm} transport when both ends share a host (and its
 * shared-memory filesystem). Immutable; serializable as {@code host:port@hostId}.
 *
 * @param host the address peers connect to (an IP literal or a name)
 * @param port the TCP port of the node's control socket
 * @param hostId an opaque identity of the machine and its {@code /dev/shm} (see {@link
 *     KvTransferNode#localHostId()}); equal ids mean "same host"
 */
public record KvEndpoint(String host, int port, String hostId) {

  public KvEndpoint {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("KvEndpoint host must not be blank, got '" + host + "'");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("KvEndpoint port must be 1..65535, got " + port);
    }
    if (hostId == null || hostId.isBlank() || hostId.contains("@")) {
      throw new IllegalArgumentException(
          "KvEndpoint hostId must be non-blank without '@': " + hostId);
    }
  }

  public String encode() {
    return host + ":" + port + "@" + hostId;
  }

  public static KvEndpoint decode(String s) {
    int at = s == null ? -1 : s.indexOf('@');
    int colon = at < 0 ? -1 : s.lastIndexOf(':', at);
    if (colon <= 0) {
      throw new IllegalArgumentException("not a KvEndpoint (want host:port@hostId): " + s);
    }
    try {
      return new KvEndpoint(
          s.substring(0, colon), Integer.parseInt(s.substring(colon + 1, at)), s.substring(at + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad port in KvEndpoint " + s, e);
    }
  }

  /** The socket address, for messages. */
  public String address() {
    return host + ":" + port;
  }
}
