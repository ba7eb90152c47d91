package dev.duet.kvtransfer.wire;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The control protocol's constants and framing helpers (see docs/kv-transfer.md, "Wire protocol").
 * All integers little-endian.
 *
 * <pre>
 * request  (48 bytes): int type, int 0, long id, long regionId, long accessKey, long offset, long length
 *                      then, for WRITE only, {@code length} payload bytes
 * reply    (36 bytes): int type, int code, long id, long value, long value2, int textLength
 *                      then {@code textLength} UTF-8 bytes
 * </pre>
 *
 * Stateless; the buffers passed in belong to the calling thread.
 */
public final class Wire {
  private Wire() {}

  public static final long MAGIC = 0x3130_564B_5445_5544L; // "DUETKV01" little-endian
  public static final int NONCE_BYTES = 16;
  public static final int MAC_BYTES = 32;

  public static final int REQUEST_BYTES = 48;
  public static final int REPLY_BYTES = 36;

  /** Request: payload follows; the receiver copies it into the region. */
  public static final int WRITE = 1;

  /** Request: the writer already placed the bytes through its mapping; the receiver validates. */
  public static final int SHM_WRITE = 2;

  /** Request: the writer asks where a region lives (shm file, offset) to map it. */
  public static final int MAP = 3;

  /** Request: deliver {@code offset} as the tag to the listener. */
  public static final int NOTIFY = 4;

  public static final int ACK = 16;
  public static final int ERR = 17;

  /** Reply to MAP: value = region length, value2 = file offset, text = file path ("" = no shm). */
  public static final int MAPPED = 18;

  /** Channel modes sent in the handshake (for the receiver's metrics and logs). */
  public static final int MODE_TCP = 0;

  public static final int MODE_SHM = 1;

  public static ByteBuffer buffer(int bytes) {
    return ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  public static void putRequest(
      ByteBuffer b, int type, long id, long regionId, long key, long offset, long length) {
    b.clear();
    b.putInt(type).putInt(0).putLong(id).putLong(regionId).putLong(key).putLong(offset);
    b.putLong(length).flip();
  }

  /** Writes a reply frame. */
  public static void writeReply(
      SocketChannel ch, ByteBuffer b, int type, int code, long id, long v, long v2, String text)
      throws IOException {
    byte[] t = text == null ? new byte[0] : text.getBytes(StandardCharsets.UTF_8);
    ByteBuffer out = b.capacity() >= REPLY_BYTES + t.length ? b : buffer(REPLY_BYTES + t.length);
    out.clear();
    out.putInt(type).putInt(code).putLong(id).putLong(v).putLong(v2).putInt(t.length).put(t).flip();
    writeFully(ch, out);
  }

  public static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  public static void writeFully(SocketChannel ch, ByteBuffer[] bs) throws IOException {
    ByteBuffer last = bs[bs.length - 1];
    while (last.hasRemaining()) {
      ch.write(bs);
    }
  }

  /** Reads exactly {@code b.remaining()} bytes, then flips {@code b}. */
  public static void readFully(SocketChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new EOFException("connection closed by the other end");
      }
    }
    b.flip();
  }

  /** Reads a UTF-8 text of {@code length} bytes (at most 64 KiB). */
  public static String readText(SocketChannel ch, int length) throws IOException {
    if (length < 0 || length > 65536) {
      throw new IOException("bad text length in frame: " + length);
    }
    ByteBuffer t = ByteBuffer.allocate(length);
    readFully(ch, t);
    return StandardCharsets.UTF_8.decode(t).toString();
  }
}
