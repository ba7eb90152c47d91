package dev.duet.kvtransfer.bench;

import dev.duet.kvtransfer.KvRegion;
import dev.duet.kvtransfer.KvTransferConfig;
import dev.duet.kvtransfer.KvTransferNode;
import dev.duet.kvtransfer.TransferChannel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * {@code duet bench kv}: moves the KV cache of a Llama-3-8B-shaped model (32 layers, 8 KV heads,
 * head dim 128, BF16: 128 KiB per token) from this process into a {@link KvPeer} process, for each
 * token count and transport, once as a whole and once layer by layer with a notify per layer; and,
 * between the same two processes, the two baselines: a single-thread {@code MemorySegment.copy} and
 * a plain NIO socket blast. Every figure is the best of {@code repeats} runs.
 *
 * <p>Memory layout (as the engine's pool keeps one sequence whose blocks are contiguous): layer
 * {@code l} of a {@code T}-token sequence is {@code T * 4 KiB} bytes at {@code l * T * 4 KiB}, in
 * the source and in the target region alike. Threading: single-threaded caller; the transport's own
 * threads do the I/O.
 */
public final class KvBenchmark {
  public static final int LAYERS = 32;

  /** Bytes of one token in one layer: K and V, 8 heads x 128 dims x 2 bytes each. */
  public static final long LAYER_TOKEN_BYTES = 2L * 8 * 128 * 2;

  public static final long TOKEN_BYTES = LAYERS * LAYER_TOKEN_BYTES;

  /** One measured case. */
  public record Case(String transport, int tokens, String mode, double gbps, double ms) {}

  /**
   * A whole run: the baselines and the cases.
   *
   * @param memcpyGbps single-thread {@code MemorySegment.copy}, bytes copied per ns
   * @param socketGbps plain NIO socket blast, received into a reused 4 MiB buffer
   * @param socketRegionGbps the same blast received into the receiver's region (the destination the
   *     transports write to)
   * @param baselineBytes bytes per baseline run
   */
  public record Result(
      double memcpyGbps,
      double socketGbps,
      double socketRegionGbps,
      long baselineBytes,
      List<Case> cases) {}

  private final int repeats;
  private final Consumer<String> progress;

  public KvBenchmark(int repeats, Consumer<String> progress) {
    if (repeats < 1) {
      throw new IllegalArgumentException("repeats must be at least 1, got " + repeats);
    }
    this.repeats = repeats;
    this.progress = progress;
  }

  public Result run(List<Integer> tokens, List<String> transports) throws Exception {
    for (int t : tokens) {
      if (t < 1 || t > 65536) {
        throw new IllegalArgumentException("token counts must be 1..65536, got " + t);
      }
    }
    int maxTokens = tokens.stream().mapToInt(Integer::intValue).max().orElseThrow();
    long maxBytes = maxTokens * TOKEN_BYTES;
    long baselineBytes = Math.min(maxBytes, 4096 * TOKEN_BYTES);
    progress.accept("starting the receiver process (" + (maxBytes >> 20) + " MiB region)");
    try (PeerProcess peer =
            PeerProcess.start(List.of("--region-bytes", Long.toString(maxBytes), "--sink"));
        Arena arena = Arena.ofShared()) {
      MemorySegment src = arena.allocate(maxBytes, 4096);
      for (long p = 0; p < maxBytes; p += 8) {
        src.set(ValueLayout.JAVA_LONG_UNALIGNED, p, p * 0x9E3779B97F4A7C15L);
      }
      // Baselines are measured before the cases and again after each transport; the best counts,
      // so that a burst of load from elsewhere does not flatter the cases.
      MemorySegment copyTarget = arena.allocate(baselineBytes, 4096);
      Baselines base = baselines(copyTarget, src, peer.sinkPort(), baselineBytes, null);
      List<Case> cases = new ArrayList<>();
      for (String transport : transports) {
        KvTransferConfig config =
            KvTransferConfig.defaults()
                .withTransport(KvTransferConfig.Mode.valueOf(transport.toUpperCase()))
                .withName("bench");
        try (KvTransferNode node = KvTransferNode.start(config, new SimpleMeterRegistry());
            TransferChannel ch = node.connect(peer.endpoint())) {
          transfer(ch, src, peer.region(), maxTokens, false); // warm-up: mappings, page faults
          for (int t : tokens) {
            for (boolean layerwise : new boolean[] {false, true}) {
              long best = Long.MAX_VALUE;
              for (int r = 0; r < repeats; r++) {
                best = Math.min(best, transfer(ch, src, peer.region(), t, layerwise));
              }
              Case c =
                  new Case(
                      transport,
                      t,
                      layerwise ? "layerwise" : "whole",
                      t * TOKEN_BYTES / (double) best,
                      best / 1e6);
              progress.accept(
                  String.format("%s %d tokens %s: %.2f GB/s", transport, t, c.mode(), c.gbps()));
              cases.add(c);
            }
          }
        }
        base = baselines(copyTarget, src, peer.sinkPort(), baselineBytes, base);
      }
      return new Result(
          base.memcpy, base.socket, base.socketRegion, baselineBytes, List.copyOf(cases));
    }
  }

  /** The three baselines, each the best seen so far in the run (GB/s). */
  private record Baselines(double memcpy, double socket, double socketRegion) {}

  private Baselines baselines(
      MemorySegment copyTarget, MemorySegment src, int sinkPort, long bytes, Baselines before)
      throws IOException {
    Baselines now =
        new Baselines(
            memcpyGbps(copyTarget, src, bytes),
            socketGbps(sinkPort, src, bytes, false),
            socketGbps(sinkPort, src, bytes, true));
    progress.accept(
        String.format(
            "baselines: memcpy %.2f GB/s, socket %.2f GB/s, socket into region %.2f GB/s",
            now.memcpy, now.socket, now.socketRegion));
    return before == null
        ? now
        : new Baselines(
            Math.max(now.memcpy, before.memcpy),
            Math.max(now.socket, before.socket),
            Math.max(now.socketRegion, before.socketRegion));
  }

  /** One transfer of {@code tokens} tokens' KV; nanoseconds until the last notify returned. */
  private static long transfer(
      TransferChannel ch, MemorySegment src, KvRegion region, int tokens, boolean layerwise)
      throws Exception {
    long layerBytes = tokens * LAYER_TOKEN_BYTES;
    List<MemorySegment> layers = new ArrayList<>(LAYERS);
    long[] offsets = new long[LAYERS];
    for (int l = 0; l < LAYERS; l++) {
      layers.add(src.asSlice(l * layerBytes, layerBytes));
      offsets[l] = l * layerBytes;
    }
    long start = System.nanoTime();
    CompletableFuture<Void> last;
    if (layerwise) {
      List<CompletableFuture<Void>> writes = new ArrayList<>();
      for (int l = 0; l < LAYERS; l++) {
        writes.add(ch.write(layers.get(l), region, offsets[l]));
        writes.add(ch.notify(l));
      }
      last = CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new));
    } else {
      last = CompletableFuture.allOf(ch.write(layers, region, offsets), ch.notify(LAYERS));
    }
    last.get();
    return System.nanoTime() - start;
  }

  private double memcpyGbps(MemorySegment dst, MemorySegment src, long bytes) {
    MemorySegment.copy(src, 0, dst, 0, bytes); // fault the pages in
    long best = Long.MAX_VALUE;
    for (int r = 0; r < repeats; r++) {
      long t0 = System.nanoTime();
      MemorySegment.copy(src, 0, dst, 0, bytes);
      best = Math.min(best, System.nanoTime() - t0);
    }
    return bytes / (double) best;
  }

  /**
   * A plain NIO socket: send {@code bytes} from {@code src} in 4 MiB writes, wait for the ack. The
   * receiver reads into its region ({@code intoRegion}, the transports' destination) or into one
   * reused 4 MiB buffer.
   */
  private double socketGbps(int port, MemorySegment src, long bytes, boolean intoRegion)
      throws IOException {
    try (SocketChannel ch = SocketChannel.open()) {
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
      ch.connect(new InetSocketAddress("127.0.0.1", port));
      ByteBuffer len = ByteBuffer.allocate(8);
      ByteBuffer ack = ByteBuffer.allocate(1);
      long best = Long.MAX_VALUE;
      for (int r = 0; r <= repeats; r++) { // the first round warms up
        long t0 = System.nanoTime();
        len.clear().putLong(intoRegion ? -bytes : bytes).flip();
        ch.write(len);
        for (long off = 0; off < bytes; off += 4 << 20) {
          ByteBuffer b = src.asSlice(off, Math.min(4 << 20, bytes - off)).asByteBuffer();
          while (b.hasRemaining()) {
            ch.write(b);
          }
        }
        ack.clear();
        if (ch.read(ack) < 0) {
          throw new IOException("the receiver's socket sink closed");
        }
        if (r > 0) {
          best = Math.min(best, System.nanoTime() - t0);
        }
      }
      return bytes / (double) best;
    }
  }
}
