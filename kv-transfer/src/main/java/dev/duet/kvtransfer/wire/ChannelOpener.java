package dev.duet.kvtransfer.wire;

import dev.duet.kvtransfer.KvEndpoint;
import dev.duet.kvtransfer.KvTransferConfig;
import dev.duet.kvtransfer.KvTransferException;
import dev.duet.kvtransfer.KvTransferException.Reason;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * Opens the control socket to a peer and runs the writer's half of the handshake (magic, nonce,
 * HMAC answer, name), then hands the socket to a {@link SocketTransferChannel}. Stateless.
 */
public final class ChannelOpener {
  private ChannelOpener() {}

  public static SocketTransferChannel open(
      KvEndpoint peer,
      String transport,
      int mode,
      Supplier<RegionMapper> mapper,
      KvTransferConfig config,
      TransferMetrics metrics) {
    SocketChannel ch = null;
    try {
      ch = SocketChannel.open();
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
      ch.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
      ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
      ch.socket().connect(new InetSocketAddress(peer.host(), peer.port()), 5000);
      ByteBuffer hello = Wire.buffer(8 + Wire.NONCE_BYTES);
      Wire.readFully(ch, hello);
      if (hello.getLong() != Wire.MAGIC) {
        throw new KvTransferException(
            Reason.PROTOCOL, peer.address() + " is not a kv-transfer endpoint");
      }
      byte[] nonce = new byte[Wire.NONCE_BYTES];
      hello.get(nonce);
      byte[] name = config.name().getBytes(StandardCharsets.UTF_8);
      ByteBuffer answer = Wire.buffer(8 + 4 + Wire.MAC_BYTES + 4 + name.length);
      answer.putLong(Wire.MAGIC).putInt(mode).put(Handshake.answer(config.secret(), nonce));
      answer.putInt(name.length).put(name).flip();
      Wire.writeFully(ch, answer);
      ByteBuffer reply = Wire.buffer(Wire.REPLY_BYTES);
      Wire.readFully(ch, reply);
      String text = Wire.readText(ch, reply.getInt(32));
      if (reply.getInt(0) != Wire.ACK) {
        Reason r = Reason.ofCode(reply.getInt(4));
        throw new KvTransferException(
            r, "kv peer " + peer.address() + " refused the channel: " + text);
      }
      SocketTransferChannel c =
          new SocketTransferChannel(peer, transport, ch, mapper.get(), config, metrics);
      ch = null;
      return c;
    } catch (IOException e) {
      throw new KvTransferException(
          Reason.PEER_FAILED, "cannot open a kv channel to " + peer.address() + ": " + e, e);
    } finally {
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException ignored) {
          // the failure is already being reported
        }
      }
    }
  }
}
