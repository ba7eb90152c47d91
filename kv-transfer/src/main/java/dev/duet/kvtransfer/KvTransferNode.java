package dev.duet.kvtransfer;

import dev.duet.kvtransfer.shm.ShmSegments;
import dev.duet.kvtransfer.shm.ShmTransport;
import dev.duet.kvtransfer.tcp.TcpTransport;
import dev.duet.kvtransfer.wire.ChannelServer;
import dev.duet.kvtransfer.wire.RegionTable;
import dev.duet.kvtransfer.wire.TransferMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One process's kv-transfer endpoint, both ends of the transport: it registers memory that peers
 * may write into, serves their channels on one TCP socket, delivers their notifications to a
 * listener, and opens channels to other nodes with the transport the configuration picks ({@code
 * shm} for a peer on this host, else {@code tcp}, unless forced).
 *
 * <p>Receiving over shm needs shm-backed memory: allocate it with {@link #allocate(long)} (a mapped
 * file in the shared-memory directory; the engine's KV pool can use it as its memory) and register
 * it or slices of it. Memory from elsewhere registers too, but writers then send its bytes over the
 * socket even on the shm transport.
 *
 * <p>Threading: thread-safe. Owns the accept thread, one thread per served channel and, per channel
 * opened, a sender and a reader thread; {@link #close()} ends them all and deletes the shm files.
 */
public final class KvTransferNode implements AutoCloseable {
  private final KvTransferConfig config;
  private final RegionTable regions = new RegionTable();
  private final ShmSegments shm;
  private final Arena arena = Arena.ofShared();
  private final ChannelServer server;
  private final TcpTransport tcp;
  private final ShmTransport shmTransport;
  private final KvEndpoint endpoint;
  private volatile NotifyListener listener = (writer, tag) -> {};
  private final Set<TransferChannel> channels = ConcurrentHashMap.newKeySet();

  private KvTransferNode(KvTransferConfig config, MeterRegistry registry) throws IOException {
    this.config = config;
    TransferMetrics metrics = new TransferMetrics(registry);
    if (ShmSegments.usable(config.shmDir())) {
      ShmSegments.sweep(config.shmDir());
      this.shm = new ShmSegments(config.shmDir());
    } else {
      this.shm = null;
    }
    this.server =
        new ChannelServer(
            config.bindHost(), config.port(), regions, config.secret(), () -> listener, metrics);
    String hostId = localHostId();
    this.endpoint = new KvEndpoint(config.bindHost(), server.port(), hostId);
    this.tcp = new TcpTransport(config, metrics);
    this.shmTransport = new ShmTransport(config, metrics, hostId);
  }

  /** Starts a node: binds its socket and sweeps stale shm files of dead processes. */
  public static KvTransferNode start(KvTransferConfig config, MeterRegistry registry) {
    try {
      return new KvTransferNode(config, registry);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Where peers connect to this node. */
  public KvEndpoint endpoint() {
    return endpoint;
  }

  public KvTransferConfig config() {
    return config;
  }

  /**
   * Memory for receiving: shm-backed when the shm directory is usable (so same-host writers can
   * write into it directly), else plain native memory. Zeroed, 4 KiB aligned, freed by {@link
   * #close()}.
   */
  public MemorySegment allocate(long bytes) {
    if (shm == null) {
      return arena.allocate(bytes, 4096);
    }
    try {
      return shm.allocate(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether {@code segment} lies in shm-backed memory from {@link #allocate(long)}. */
  public boolean isShmBacked(MemorySegment segment) {
    return shm != null && shm.locate(segment) != null;
  }

  /** The shm files this node owns now (for checks and diagnostics). */
  public List<Path> shmFiles() {
    return shm == null ? List.of() : shm.files();
  }

  /**
   * Registers {@code segment} so peers holding the returned handle can write into it. The memory
   * must stay alive until {@link #deregister} and the end of the writes into it.
   */
  public KvRegion register(MemorySegment segment) {
    ShmSegments.Located at = shm == null ? null : shm.locate(segment);
    return at == null
        ? regions.register(segment, null, 0)
        : regions.register(segment, at.file(), at.offset());
  }

  /** Rejects later writes into {@code region}; returns false if it was not registered. */
  public boolean deregister(KvRegion region) {
    return regions.deregister(region);
  }

  /** Sets the listener for notifications from all channels (replacing the previous one). */
  public void onNotify(NotifyListener l) {
    this.listener = l == null ? (writer, tag) -> {} : l;
  }

  /**
   * Opens a channel to {@code peer} with the configured transport (AUTO: shm on one host). The
   * caller closes it; {@link #close()} closes any still open.
   */
  public TransferChannel connect(KvEndpoint peer) {
    channels.removeIf(c -> !c.isOpen());
    TransferChannel ch = transportFor(peer).connect(peer);
    channels.add(ch);
    return ch;
  }

  /** The transport {@link #connect} uses for {@code peer}. */
  public KvTransport transportFor(KvEndpoint peer) {
    return switch (config.transport()) {
      case TCP -> tcp;
      case SHM -> {
        if (!shmTransport.reaches(peer)) {
          throw new KvTransferException(
              KvTransferException.Reason.PROTOCOL,
              "transport shm was configured but kv peer "
                  + peer.address()
                  + " is on another host ("
                  + peer.hostId()
                  + ")");
        }
        yield shmTransport;
      }
      case AUTO -> shmTransport.reaches(peer) ? shmTransport : tcp;
    };
  }

  /** Channels peers have open to this node now. */
  public int servedChannels() {
    return server.openChannels();
  }

  @Override
  public void close() {
    for (TransferChannel ch : channels) {
      ch.close();
    }
    channels.clear();
    server.close();
    if (shm != null) {
      shm.close();
    }
    arena.close();
  }

  /**
   * This machine's identity for choosing shm: host name plus kernel boot id (so two containers with
   * separate {@code /dev/shm} but one kernel still differ by host name).
   */
  public static String localHostId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    String boot = "";
    try {
      boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
    } catch (IOException | RuntimeException e) {
      // not Linux: the host name alone
    }
    return (host + "/" + boot).replace("@", "_");
  }
}
