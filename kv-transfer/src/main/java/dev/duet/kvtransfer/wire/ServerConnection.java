package dev.duet.kvtransfer.wire;

import dev.duet.kvtransfer.KvTransferException.Reason;
import dev.duet.kvtransfer.NotifyListener;
import dev.duet.kvtransfer.wire.RegionTable.Entry;
import dev.duet.kvtransfer.wire.RegionTable.Rejection;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one writer's channel: authenticates it, then applies its requests in order: WRITE payloads
 * are read from the socket straight into the target region (no intermediate buffer), a rejected
 * write's payload is read and dropped so the target stays untouched, NOTIFY calls the listener.
 * Every request gets an ACK or ERR, in order.
 *
 * <p>Threading: one platform thread runs the whole connection; {@link #close()} from another thread
 * closes the socket, which ends it. If the writer dies mid-write the connection just ends: a partly
 * written range stays partly written and no notification covers it.
 */
final class ServerConnection {
  private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
  private static final long HANDSHAKE_SECONDS = 10;

  private final SocketChannel ch;
  private final RegionTable regions;
  private final Optional<String> secret;
  private final Supplier<NotifyListener> listener;
  private final TransferMetrics metrics;
  private final ByteBuffer request = Wire.buffer(Wire.REQUEST_BYTES);
  private final ByteBuffer reply = Wire.buffer(4096);
  private Thread thread;
  private String writer = "?";
  private String transport = "tcp";
  private volatile boolean handshaken;

  ServerConnection(
      SocketChannel ch,
      RegionTable regions,
      Optional<String> secret,
      Supplier<NotifyListener> listener,
      TransferMetrics metrics) {
    this.ch = ch;
    this.regions = regions;
    this.secret = secret;
    this.listener = listener;
    this.metrics = metrics;
  }

  void start(Runnable onEnd) {
    thread =
        Thread.ofPlatform()
            .daemon()
            .name("duet-kv-serve-" + remote())
            .start(
                () -> {
                  try {
                    serve();
                  } finally {
                    close();
                    onEnd.run();
                  }
                });
  }

  void close() {
    try {
      ch.close();
    } catch (IOException e) {
      log.debug("closing kv channel from {}: {}", remote(), e.toString());
    }
  }

  void join(long millis) throws InterruptedException {
    if (thread != null) {
      thread.join(millis);
    }
  }

  private String remote() {
    try {
      return String.valueOf(ch.getRemoteAddress());
    } catch (IOException e) {
      return "?";
    }
  }

  private void serve() {
    try {
      ch.socket().setTcpNoDelay(true);
      // A peer that connects and never completes the handshake must not hold a thread forever.
      CompletableFuture.delayedExecutor(HANDSHAKE_SECONDS, TimeUnit.SECONDS)
          .execute(
              () -> {
                if (!handshaken) {
                  log.warn("kv channel from {} did not complete its handshake; closing", remote());
                  close();
                }
              });
      if (!handshake()) {
        return;
      }
      handshaken = true;
      while (true) {
        request.clear();
        Wire.readFully(ch, request);
        int type = request.getInt(0);
        long id = request.getLong(8);
        long regionId = request.getLong(16);
        long key = request.getLong(24);
        long offset = request.getLong(32);
        long length = request.getLong(40);
        switch (type) {
          case Wire.WRITE -> write(id, regionId, key, offset, length);
          case Wire.SHM_WRITE -> shmWrite(id, regionId, key, offset, length);
          case Wire.MAP -> map(id, regionId, key);
          case Wire.NOTIFY -> notify(id, offset);
          default -> {
            Wire.writeReply(
                ch, reply, Wire.ERR, Reason.PROTOCOL.code(), id, 0, 0, "unknown frame " + type);
            return;
          }
        }
      }
    } catch (EOFException e) {
      log.debug("kv writer {} ({}) closed its channel", writer, remote());
    } catch (IOException e) {
      log.debug("kv channel from {} ({}) failed: {}", writer, remote(), e.toString());
    } catch (RuntimeException e) {
      log.warn("kv channel from {} ({}) failed", writer, remote(), e);
    }
  }

  private boolean handshake() throws IOException {
    byte[] nonce = new byte[Wire.NONCE_BYTES];
    new SecureRandom().nextBytes(nonce);
    ByteBuffer hello = Wire.buffer(8 + Wire.NONCE_BYTES);
    hello.putLong(Wire.MAGIC).put(nonce).flip();
    Wire.writeFully(ch, hello);
    ByteBuffer in = Wire.buffer(8 + 4 + Wire.MAC_BYTES + 4);
    Wire.readFully(ch, in);
    if (in.getLong() != Wire.MAGIC) {
      Wire.writeReply(
          ch, reply, Wire.ERR, Reason.PROTOCOL.code(), 0, 0, 0, "not a kv-transfer peer");
      return false;
    }
    transport = in.getInt() == Wire.MODE_SHM ? "shm" : "tcp";
    byte[] mac = new byte[Wire.MAC_BYTES];
    in.get(mac);
    writer = Wire.readText(ch, in.getInt());
    if (!Handshake.accepts(secret, nonce, mac)) {
      log.warn("kv channel from {} ({}) rejected: wrong channel secret", writer, remote());
      metrics.failed(transport, "receiver", Reason.AUTH_FAILED);
      Wire.writeReply(
          ch, reply, Wire.ERR, Reason.AUTH_FAILED.code(), 0, 0, 0, "wrong channel secret");
      return false;
    }
    Wire.writeReply(ch, reply, Wire.ACK, 0, 0, 0, 0, null);
    return true;
  }

  private void write(long id, long regionId, long key, long offset, long length)
      throws IOException {
    if (length < 0 || length > Integer.MAX_VALUE) {
      throw new IOException("bad WRITE length " + length + " from " + writer);
    }
    switch (regions.check(regionId, key, offset, length)) {
      case Entry e -> {
        ByteBuffer target = e.segment().asSlice(offset, length).asByteBuffer();
        Wire.readFully(ch, target);
        metrics.completed(transport, "receiver", length, -1);
        Wire.writeReply(ch, reply, Wire.ACK, 0, id, 0, 0, null);
      }
      case Rejection r -> {
        drain(length);
        reject(id, r);
      }
    }
  }

  private void shmWrite(long id, long regionId, long key, long offset, long length)
      throws IOException {
    switch (regions.check(regionId, key, offset, length)) {
      case Entry e -> {
        metrics.completed(transport, "receiver", length, -1);
        Wire.writeReply(ch, reply, Wire.ACK, 0, id, 0, 0, null);
      }
      case Rejection r -> reject(id, r);
    }
  }

  private void map(long id, long regionId, long key) throws IOException {
    switch (regions.check(regionId, key, 0, 0)) {
      case Entry e -> {
        String path = e.shmFile() == null ? "" : e.shmFile().toString();
        Wire.writeReply(
            ch, reply, Wire.MAPPED, 0, id, e.segment().byteSize(), e.fileOffset(), path);
      }
      case Rejection r -> reject(id, r);
    }
  }

  /**
   * Calls the listener; a listener that throws fails that notify at the writer, not the channel.
   */
  private void notify(long id, long tag) throws IOException {
    try {
      listener.get().onNotify(writer, tag);
    } catch (RuntimeException e) {
      log.warn("kv notify listener failed on tag {} from {}", tag, writer, e);
      Wire.writeReply(
          ch,
          reply,
          Wire.ERR,
          Reason.PROTOCOL.code(),
          id,
          0,
          0,
          "the receiver's notify listener failed on tag " + tag + ": " + e);
      return;
    }
    Wire.writeReply(ch, reply, Wire.ACK, 0, id, 0, 0, null);
  }

  private void reject(long id, Rejection r) throws IOException {
    log.debug("kv write from {} rejected: {}", writer, r.message());
    metrics.failed(transport, "receiver", r.reason());
    Wire.writeReply(ch, reply, Wire.ERR, r.reason().code(), id, 0, 0, r.message());
  }

  private void drain(long length) throws IOException {
    ByteBuffer sink = Wire.buffer((int) Math.min(length, 1 << 20));
    long left = length;
    while (left > 0) {
      sink.clear().limit((int) Math.min(left, sink.capacity()));
      Wire.readFully(ch, sink);
      left -= sink.limit();
    }
  }
}
