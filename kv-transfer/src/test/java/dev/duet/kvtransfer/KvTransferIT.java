package dev.duet.kvtransfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.kvtransfer.KvTransferConfig.Mode;
import dev.duet.kvtransfer.bench.PeerProcess;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Writes into a receiver running as a second JVM, over both transports: integrity of random scatter
 * lists, rejections that leave the target untouched, and several writers at once with notifications
 * in order.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvTransferIT {
  static final long REGION = 8L << 20;
  static final String SECRET = "s3cret";

  static PeerProcess peer;
  static Arena arena;

  @BeforeAll
  static void startPeer() throws Exception {
    peer =
        PeerProcess.start(
            List.of(
                "--region-bytes", Long.toString(REGION),
                "--secret", SECRET,
                "--notify-crc", Long.toString(SLOT)));
    arena = Arena.ofShared();
  }

  @AfterAll
  static void stopPeer() {
    peer.close();
    assertThat(peer.exitValue()).isZero();
    arena.close();
  }

  static KvTransferNode writer(Mode mode, String secret, String name) {
    return writer(mode, secret, name, new SimpleMeterRegistry());
  }

  static KvTransferNode writer(Mode mode, String secret, String name, MeterRegistry registry) {
    return KvTransferNode.start(
        KvTransferConfig.defaults()
            .withTransport(mode)
            .withSecret(secret)
            .withName(name + "-" + mode)
            .withFlow(1 << 20, 64 << 10),
        registry);
  }

  static String crc(MemorySegment m) {
    CRC32C c = new CRC32C();
    c.update(m.asByteBuffer());
    return Long.toHexString(c.getValue());
  }

  static MemorySegment random(long bytes, long seed) {
    MemorySegment m = arena.allocate(bytes);
    byte[] b = new byte[(int) bytes];
    new Random(seed).nextBytes(b);
    MemorySegment.copy(b, 0, m, ValueLayout.JAVA_BYTE, 0, b.length);
    return m;
  }

  @ParameterizedTest
  @EnumSource(
      value = Mode.class,
      names = {"TCP", "SHM"})
  void randomScatterListsLandExactlyWhereTheyWereSent(Mode mode) throws Exception {
    Random rnd = new Random(42 + mode.ordinal());
    MemorySegment mirror = random(REGION, rnd.nextLong());
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (KvTransferNode node = writer(mode, SECRET, "writer", registry);
        TransferChannel ch = node.connect(peer.endpoint())) {
      assertThat(ch.transport()).isEqualTo(mode.name().toLowerCase());
      List<CompletableFuture<Void>> writes = new ArrayList<>();
      writes.add(ch.write(mirror, peer.region(), 0));
      for (int w = 0; w < 20; w++) {
        // one source buffer cut into slices, some adjacent at both ends (coalesced), some not
        int n = 1 + rnd.nextInt(12);
        MemorySegment src = random(n * 40_000L, rnd.nextLong());
        List<MemorySegment> slices = new ArrayList<>();
        long[] offsets = new long[n];
        long at = rnd.nextLong(REGION - n * 40_000L);
        long srcAt = 0;
        for (int i = 0; i < n; i++) {
          long len = 1 + rnd.nextInt(40_000);
          boolean adjacent = rnd.nextBoolean();
          srcAt = adjacent ? srcAt : i * 40_000L;
          slices.add(src.asSlice(srcAt, len));
          offsets[i] = adjacent ? at : rnd.nextLong(REGION - 2 * 40_000L);
          at = offsets[i] + len;
          srcAt += len;
        }
        writes.add(ch.write(slices, peer.region(), offsets));
        for (int i = 0; i < n; i++) {
          MemorySegment.copy(slices.get(i), 0, mirror, offsets[i], slices.get(i).byteSize());
        }
      }
      CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
    }
    assertThat(peer.command("crc")).isEqualTo(crc(mirror));
    String transport = mode.name().toLowerCase();
    assertThat(
            registry
                .get("duet.kv.transfer.transfers")
                .tags("transport", transport, "side", "writer")
                .counter()
                .count())
        .isEqualTo(21);
    assertThat(
            registry
                .get("duet.kv.transfer.bytes")
                .tags("transport", transport, "side", "writer")
                .counter()
                .count())
        .isGreaterThan(REGION);
    assertThat(
            registry.get("duet.kv.transfer.duration").tags("transport", transport).timer().count())
        .isEqualTo(21);
  }

  @ParameterizedTest
  @EnumSource(
      value = Mode.class,
      names = {"TCP", "SHM"})
  void severalWritersAtOnceEachSeeTheirNotificationsAfterTheirWrites(Mode mode) throws Exception {
    int writers = 3;
    int perWriter = 40;
    peer.notifications().clear();
    List<Thread> threads = new ArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Map<Long, String> expected = new ConcurrentHashMap<>();
    for (int w = 0; w < writers; w++) {
      int wid = w;
      threads.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    try (KvTransferNode node = writer(mode, SECRET, "w" + wid);
                        TransferChannel ch = node.connect(peer.endpoint())) {
                      MemorySegment filler = random(1 << 20, wid);
                      List<CompletableFuture<Void>> fs = new ArrayList<>();
                      for (int i = 0; i < perWriter; i++) {
                        long slot = (long) wid * perWriter + i;
                        MemorySegment data = random(SLOT, slot * 31 + mode.ordinal());
                        expected.put(slot, crc(data));
                        fs.add(ch.write(data, peer.region(), slot * SLOT));
                        fs.add(ch.write(filler, peer.region(), (4L + wid) << 20));
                        fs.add(ch.notify(slot));
                      }
                      CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new))
                          .get(30, TimeUnit.SECONDS);
                    } catch (Throwable t) {
                      errors.add(t);
                    }
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(errors).isEmpty();
    Map<String, Long> lastTag = new HashMap<>();
    for (int n = 0; n < writers * perWriter; n++) {
      String line = peer.notifications().poll(10, TimeUnit.SECONDS);
      assertThat(line).as("notification %d of %d", n, writers * perWriter).isNotNull();
      String[] f = line.split(" "); // notify <writer> <tag> <crc>
      long tag = Long.parseLong(f[2]);
      assertThat(tag)
          .as("tags of %s in order", f[1])
          .isGreaterThan(lastTag.getOrDefault(f[1], -1L));
      lastTag.put(f[1], tag);
      assertThat(f[3]).as("slot %d in place at its notification", tag).isEqualTo(expected.get(tag));
    }
    assertThat(lastTag).hasSize(writers);
  }

  static final long SLOT = 16 << 10;

  @org.junit.jupiter.api.Test
  void autoPicksShmForAPeerOnThisHostAndTcpCanBeForced() throws Exception {
    try (KvTransferNode node = writer(Mode.AUTO, SECRET, "auto");
        TransferChannel ch = node.connect(peer.endpoint())) {
      assertThat(ch.transport()).isEqualTo("shm");
    }
    try (KvTransferNode forced = writer(Mode.TCP, SECRET, "forced");
        KvTransferNode auto = writer(Mode.AUTO, SECRET, "auto")) {
      assertThat(forced.transportFor(peer.endpoint()).name()).isEqualTo("tcp");
      KvEndpoint elsewhere = new KvEndpoint("127.0.0.1", peer.endpoint().port(), "other-host");
      assertThat(auto.transportFor(elsewhere).name()).isEqualTo("tcp");
    }
  }

  @org.junit.jupiter.api.Test
  void memoryThatIsNotShmBackedIsWrittenOverTheSocketOnTheShmTransport() throws Exception {
    try (KvTransferNode receiver = writer(Mode.AUTO, null, "receiver");
        KvTransferNode sender = writer(Mode.SHM, null, "sender");
        Arena plain = Arena.ofShared()) {
      MemorySegment target = plain.allocate(1 << 20);
      assertThat(receiver.isShmBacked(target)).isFalse();
      assertThat(receiver.isShmBacked(receiver.allocate(4096))).isTrue();
      KvRegion region = receiver.register(target);
      MemorySegment data = random(1 << 20, 11);
      try (TransferChannel ch = sender.connect(receiver.endpoint())) {
        assertThat(ch.transport()).isEqualTo("shm");
        ch.write(data, region, 0).get(10, TimeUnit.SECONDS);
      }
      assertThat(target.mismatch(data)).isEqualTo(-1);
    }
  }

  @org.junit.jupiter.api.Test
  void aListenerThatThrowsFailsThatNotifyOnlyAndTheChannelCarriesOn() throws Exception {
    try (KvTransferNode receiver = writer(Mode.AUTO, null, "receiver");
        KvTransferNode sender = writer(Mode.AUTO, null, "sender");
        TransferChannel ch = sender.connect(receiver.endpoint())) {
      List<Long> seen = new CopyOnWriteArrayList<>();
      receiver.onNotify(
          (writer, tag) -> {
            if (tag == 13) {
              throw new IllegalStateException("unlucky");
            }
            seen.add(tag);
          });
      assertThat(ch.notify(13))
          .failsWithin(java.time.Duration.ofSeconds(10))
          .withThrowableThat()
          .withMessageContaining("notify listener failed on tag 13")
          .withMessageContaining("unlucky");
      ch.notify(14).get(10, TimeUnit.SECONDS);
      assertThat(seen).containsExactly(14L);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Mode.class,
      names = {"TCP", "SHM"})
  void aCancelledWriteStopsAndTheChannelCarriesOn(Mode mode) throws Exception {
    MemorySegment big = random(REGION, 3);
    try (KvTransferNode node = writer(mode, SECRET, "cancel");
        TransferChannel ch = node.connect(peer.endpoint())) {
      List<CompletableFuture<Void>> writes = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        writes.add(ch.write(big, peer.region(), 0));
      }
      writes.getLast().cancel(true);
      ch.notify(99).get(10, TimeUnit.SECONDS);
      assertThat(writes.getLast()).isCancelled();
      assertThat(writes.getFirst()).isCompleted();
    }
    peer.notifications().clear();
  }

  @ParameterizedTest
  @EnumSource(
      value = Mode.class,
      names = {"TCP", "SHM"})
  void rejectedWritesFailWithTheirReasonAndLeaveTheTargetUntouched(Mode mode) throws Exception {
    String before = peer.command("crc");
    KvRegion good = peer.region();
    MemorySegment src = random(64 << 10, 7);
    try (KvTransferNode node = writer(mode, SECRET, "rejected");
        TransferChannel ch = node.connect(peer.endpoint())) {
      KvRegion unknown = new KvRegion(good.id() + 1000, good.length(), good.accessKey());
      KvRegion wrongKey = new KvRegion(good.id(), good.length(), good.accessKey() ^ 1);
      KvRegion forgedLength = new KvRegion(good.id(), good.length() * 2, good.accessKey());
      assertRejected(ch.write(src, unknown, 0), KvTransferException.Reason.UNKNOWN_REGION);
      assertRejected(ch.write(src, wrongKey, 0), KvTransferException.Reason.BAD_ACCESS_KEY);
      assertRejected(
          ch.write(src, forgedLength, REGION + 4096), KvTransferException.Reason.OUT_OF_BOUNDS);
      assertThatThrownBy(() -> ch.write(src, good, REGION - 100))
          .isInstanceOf(KvTransferException.class)
          .hasMessageContaining("does not fit region " + good.id());
      try (Arena confined = Arena.ofConfined()) {
        assertThatThrownBy(() -> ch.write(confined.allocate(16), good, 0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("shared or global arena");
      }
      // the channel still works after rejections
      ch.notify(1).get(10, TimeUnit.SECONDS);
    }
    try (KvTransferNode node = writer(mode, "not-the-secret", "intruder")) {
      assertThatThrownBy(() -> node.connect(peer.endpoint()))
          .isInstanceOf(KvTransferException.class)
          .hasMessageContaining("wrong channel secret")
          .extracting(e -> ((KvTransferException) e).reason())
          .isEqualTo(KvTransferException.Reason.AUTH_FAILED);
    }
    assertThat(peer.command("crc")).isEqualTo(before);
    peer.notifications().clear();
  }

  static void assertRejected(CompletableFuture<Void> f, KvTransferException.Reason reason) {
    assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(KvTransferException.class)
        .hasMessageContaining(peer.endpoint().address())
        .extracting(e -> ((KvTransferException) e).reason())
        .isEqualTo(reason);
  }
}
