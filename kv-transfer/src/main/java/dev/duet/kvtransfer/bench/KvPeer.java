package dev.duet.kvtransfer.bench;

import dev.duet.kvtransfer.KvEndpoint;
import dev.duet.kvtransfer.KvRegion;
import dev.duet.kvtransfer.KvTransferConfig;
import dev.duet.kvtransfer.KvTransferNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The receiving process of {@code duet bench kv} and of the multi-process tests: starts a {@link
 * KvTransferNode}, allocates and registers one region, and talks line by line.
 *
 * <p>Arguments: {@code --region-bytes N} (required), {@code --shm-dir D}, {@code --transport
 * auto|tcp|shm}, {@code --secret S}, {@code --sink} (also open a plain socket that swallows
 * length-prefixed blasts, the raw-socket baseline), {@code --print-notify} (print each
 * notification), {@code --notify-crc B} (with each printed notification, the CRC32C of the region's
 * bytes {@code [(tag & 0xffffffff) * B, +B)}).
 *
 * <p>With {@code --blast ENDPOINT REGION} it is a writer instead: it writes into that region until
 * killed, and prints {@code blasting} after its first completed write.
 *
 * <p>Prints {@code endpoint <endpoint>}, {@code region <handle>}, optionally {@code sink <port>},
 * then {@code ready}. Reads commands: {@code crc} (CRC32C of the region), {@code files} (number of
 * shm files the node owns), {@code exit}. Threading: main thread reads commands; notifications
 * print from the node's channel threads, each line whole.
 */
public final class KvPeer {
  private KvPeer() {}

  public static void main(String[] args) throws Exception {
    long regionBytes = 0;
    String secret = null;
    boolean sink = false;
    boolean printNotify = false;
    long notifyCrc = 0;
    String shmDir = null;
    String blastTo = null;
    String blastRegion = null;
    KvTransferConfig.Mode mode = KvTransferConfig.Mode.AUTO;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--region-bytes" -> regionBytes = Long.parseLong(args[++i]);
        case "--secret" -> secret = args[++i];
        case "--sink" -> sink = true;
        case "--print-notify" -> printNotify = true;
        case "--notify-crc" -> {
          printNotify = true;
          notifyCrc = Long.parseLong(args[++i]);
        }
        case "--shm-dir" -> shmDir = args[++i];
        case "--transport" -> mode = KvTransferConfig.Mode.valueOf(args[++i].toUpperCase());
        case "--blast" -> {
          blastTo = args[++i];
          blastRegion = args[++i];
        }
        default -> throw new IllegalArgumentException("unknown KvPeer argument " + args[i]);
      }
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    KvTransferConfig config =
        KvTransferConfig.defaults().withSecret(secret).withName("kv-peer").withTransport(mode);
    if (shmDir != null) {
      config = config.withShmDir(java.nio.file.Path.of(shmDir));
    }
    if (blastTo != null) {
      blast(config, KvEndpoint.decode(blastTo), KvRegion.decode(blastRegion), out);
      return;
    }
    try (KvTransferNode node = KvTransferNode.start(config, new SimpleMeterRegistry())) {
      MemorySegment memory = node.allocate(regionBytes);
      KvRegion region = node.register(memory);
      if (printNotify) {
        long slot = notifyCrc;
        node.onNotify(
            (writer, tag) -> {
              String line = "notify " + writer + " " + tag;
              if (slot > 0) {
                line += " " + crc(memory.asSlice((tag & 0xffffffffL) * slot, slot));
              }
              synchronized (out) {
                out.println(line);
              }
            });
      }
      synchronized (out) {
        out.println("endpoint " + node.endpoint().encode());
        out.println("region " + region.encode());
        if (sink) {
          out.println("sink " + startSink(memory));
        }
        out.println("ready");
      }
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        String reply =
            switch (line.trim()) {
              case "crc" -> "crc " + crc(memory);
              case "files" -> "files " + node.shmFiles().size();
              case "exit" -> null;
              default -> "error unknown command " + line;
            };
        if (reply == null) {
          break;
        }
        synchronized (out) {
          out.println(reply);
        }
      }
    }
    out.println("bye");
  }

  /** Writer mode: writes 4 MiB chunks round the region until killed; prints "blasting" once. */
  private static void blast(
      KvTransferConfig config, KvEndpoint to, KvRegion region, PrintStream out) throws Exception {
    try (KvTransferNode node = KvTransferNode.start(config, new SimpleMeterRegistry());
        var ch = node.connect(to);
        var arena = java.lang.foreign.Arena.ofShared()) {
      long chunk = Math.min(4 << 20, region.length());
      MemorySegment src = arena.allocate(chunk).fill((byte) 0x5a);
      for (long i = 0; ; i++) {
        ch.write(src, region, (i * chunk) % (region.length() - chunk + 1)).get();
        if (i == 0) {
          out.println("blasting");
        }
      }
    }
  }

  static String crc(MemorySegment m) {
    CRC32C c = new CRC32C();
    c.update(m.asByteBuffer());
    return Long.toHexString(c.getValue());
  }

  /**
   * A plain NIO socket that reads {@code long n} then |n| bytes, and answers one byte: into one
   * reused 4 MiB buffer when n > 0, into {@code memory} from its start (the same destination the
   * transports write to) when n < 0.
   */
  private static int startSink(MemorySegment memory) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open();
    server.bind(new InetSocketAddress("127.0.0.1", 0));
    Thread.ofPlatform()
        .daemon()
        .name("kv-peer-sink")
        .start(
            () -> {
              ByteBuffer buf = ByteBuffer.allocateDirect(4 << 20);
              ByteBuffer len = ByteBuffer.allocate(8);
              while (true) {
                try (SocketChannel ch = server.accept()) {
                  while (true) {
                    len.clear();
                    while (len.hasRemaining()) {
                      if (ch.read(len) < 0) {
                        throw new IOException("sink: sender closed");
                      }
                    }
                    long n0 = len.flip().getLong();
                    boolean intoMemory = n0 < 0;
                    long left = Math.abs(n0);
                    long at = 0;
                    while (left > 0) {
                      int piece = (int) Math.min(buf.capacity(), left);
                      ByteBuffer into = buf.clear().limit(piece);
                      if (intoMemory) {
                        at = at + piece > memory.byteSize() ? 0 : at;
                        into = memory.asSlice(at, piece).asByteBuffer();
                      }
                      int n = ch.read(into);
                      at += n;
                      if (n < 0) {
                        throw new IOException("sink: sender closed mid-blast");
                      }
                      left -= n;
                    }
                    ch.write(ByteBuffer.wrap(new byte[] {1}));
                  }
                } catch (IOException e) {
                  if (!server.isOpen()) {
                    return;
                  }
                }
              }
            });
    return ((InetSocketAddress) server.getLocalAddress()).getPort();
  }
}
