package dev.duet.kvtransfer.wire;

import dev.duet.kvtransfer.NotifyListener;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiving side of a node: accepts channels on one TCP socket and serves each on its own
 * thread ({@link ServerConnection}), for every transport (tcp data frames and shm control frames
 * share the protocol).
 *
 * <p>Threading: one accept thread plus one platform thread per open channel; {@link #close()} from
 * any thread closes the socket and every channel and waits for their threads to end.
 */
public final class ChannelServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ChannelServer.class);

  private final ServerSocketChannel server;
  private final RegionTable regions;
  private final Optional<String> secret;
  private final Supplier<NotifyListener> listener;
  private final TransferMetrics metrics;
  private final Set<ServerConnection> connections = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private volatile boolean closed;

  public ChannelServer(
      String bindHost,
      int port,
      RegionTable regions,
      Optional<String> secret,
      Supplier<NotifyListener> listener,
      TransferMetrics metrics)
      throws IOException {
    this.regions = regions;
    this.secret = secret;
    this.listener = listener;
    this.metrics = metrics;
    this.server = ServerSocketChannel.open();
    try {
      server.bind(new InetSocketAddress(bindHost, port), 64);
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot bind kv-transfer socket to " + bindHost + ":" + port, e);
    }
    this.acceptor =
        Thread.ofPlatform().daemon().name("duet-kv-accept-" + port()).start(this::accept);
  }

  public int port() {
    return ((InetSocketAddress) server.socket().getLocalSocketAddress()).getPort();
  }

  /** Channels being served now. */
  public int openChannels() {
    return connections.size();
  }

  private void accept() {
    while (!closed) {
      SocketChannel ch;
      try {
        ch = server.accept();
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (!closed) {
          log.warn("kv-transfer accept failed on port {}: {}", port(), e.toString());
        }
        return;
      }
      ServerConnection c = new ServerConnection(ch, regions, secret, listener, metrics);
      connections.add(c);
      c.start(() -> connections.remove(c));
      if (closed) {
        c.close();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      log.debug("closing kv-transfer server socket: {}", e.toString());
    }
    for (ServerConnection c : connections) {
      c.close();
    }
    try {
      acceptor.join(2000);
      for (ServerConnection c : connections) {
        c.join(2000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
