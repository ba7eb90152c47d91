package dev.duet.kvtransfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.duet.kvtransfer.KvTransferConfig.Mode;
import dev.duet.kvtransfer.bench.PeerProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A peer killed with {@code kill -9} in the middle of a transfer, on either side: the writer's
 * futures fail fast naming the peer and its threads and mappings go; the receiver drops the dead
 * writer's channel and keeps serving; stale shm files of the dead receiver are swept.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvPeerFailureIT {
  static final long REGION = 32L << 20;

  Path shmDir;

  @BeforeEach
  void shmDir() throws IOException {
    shmDir = Files.createTempDirectory(Path.of("/dev/shm"), "duet-kv-it-");
  }

  @AfterEach
  void removeShmDir() throws IOException {
    try (Stream<Path> files = Files.list(shmDir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
    }
    Files.deleteIfExists(shmDir);
  }

  static List<String> kvThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .map(Thread::getName)
        .filter(n -> n.startsWith("duet-kv-send-") || n.startsWith("duet-kv-recv-"))
        .toList();
  }

  static String myMappings() throws IOException {
    return Files.readString(Path.of("/proc/self/maps"));
  }

  @ParameterizedTest
  @EnumSource(
      value = Mode.class,
      names = {"TCP", "SHM"})
  void aReceiverKilledMidTransferFailsTheWritersFuturesWithinASecondAndLeaksNothing(Mode mode)
      throws Exception {
    PeerProcess peer =
        PeerProcess.start(
            List.of("--region-bytes", Long.toString(REGION), "--shm-dir", shmDir.toString()));
    String peerFiles = "duet-kv-" + peer.pid() + "-";
    KvTransferConfig config =
        KvTransferConfig.defaults()
            .withTransport(mode)
            .withShmDir(shmDir)
            .withFlow(1 << 20, 256 << 10);
    try (KvTransferNode node = KvTransferNode.start(config, new SimpleMeterRegistry());
        Arena arena = Arena.ofShared();
        TransferChannel ch = node.connect(peer.endpoint())) {
      MemorySegment src = arena.allocate(REGION);
      ch.write(src, peer.region(), 0).get(20, TimeUnit.SECONDS);
      if (mode == Mode.SHM) {
        assertThat(myMappings()).contains(peerFiles);
      }
      List<CompletableFuture<Void>> writes = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        writes.add(ch.write(src, peer.region(), 0));
      }
      writes.getFirst().get(20, TimeUnit.SECONDS);
      peer.kill();
      long killed = System.nanoTime();
      for (CompletableFuture<Void> w : writes.subList(1, writes.size())) {
        try {
          w.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          assertThat(e.getCause())
              .isInstanceOf(KvTransferException.class)
              .hasMessageContaining(peer.endpoint().address());
          assertThat(((KvTransferException) e.getCause()).reason())
              .isEqualTo(KvTransferException.Reason.PEER_FAILED);
        }
      }
      assertThat(writes.getLast()).isCompletedExceptionally();
      assertThat(Duration.ofNanos(System.nanoTime() - killed)).isLessThan(Duration.ofSeconds(1));
      await().atMost(Duration.ofSeconds(2)).until(() -> kvThreads().isEmpty());
      assertThat(myMappings()).doesNotContain(peerFiles);
      assertThat(ch.write(src, peer.region(), 0))
          .failsWithin(Duration.ofSeconds(1))
          .withThrowableThat()
          .withMessageContaining(peer.endpoint().address());
    }
    if (mode == Mode.SHM) {
      // the dead receiver left its files; the next node to start on this directory sweeps them
      assertThat(filesOf(peerFiles)).isNotEmpty();
      KvTransferNode.start(
              KvTransferConfig.defaults().withShmDir(shmDir), new SimpleMeterRegistry())
          .close();
      assertThat(filesOf(peerFiles)).isEmpty();
    }
  }

  List<Path> filesOf(String prefix) throws IOException {
    try (Stream<Path> files = Files.list(shmDir)) {
      return files.filter(f -> f.getFileName().toString().startsWith(prefix)).toList();
    }
  }

  @Test
  void aWriterKilledMidTransferIsDroppedAndTheReceiverKeepsServing() throws Exception {
    KvTransferConfig config = KvTransferConfig.defaults().withShmDir(shmDir);
    try (KvTransferNode receiver = KvTransferNode.start(config, new SimpleMeterRegistry())) {
      KvRegion region = receiver.register(receiver.allocate(REGION));
      for (String transport : List.of("tcp", "shm")) {
        PeerProcess writer =
            PeerProcess.start(
                List.of(
                    "--transport",
                    transport,
                    "--shm-dir",
                    shmDir.toString(),
                    "--blast",
                    receiver.endpoint().encode(),
                    region.encode()));
        assertThat(receiver.servedChannels()).isEqualTo(1);
        writer.kill();
        await().atMost(Duration.ofSeconds(2)).until(() -> receiver.servedChannels() == 0);
      }
      try (KvTransferNode other =
              KvTransferNode.start(config.withName("after"), new SimpleMeterRegistry());
          Arena arena = Arena.ofShared();
          TransferChannel ch = other.connect(receiver.endpoint())) {
        ch.write(arena.allocate(4096).fill((byte) 7), region, 0).get(10, TimeUnit.SECONDS);
        assertThat(receiver.allocate(1).byteSize()).isEqualTo(1);
      }
    }
    assertThat(filesOf("duet-kv-" + ProcessHandle.current().pid() + "-")).isEmpty();
  }

  @Test
  void aPeerThatStopsAnsweringFailsTheWriteWithATimeoutNamingIt() throws Exception {
    PeerProcess peer = PeerProcess.start(List.of("--region-bytes", "65536"));
    KvTransferConfig config =
        KvTransferConfig.defaults().withTransport(Mode.TCP).withTimeout(Duration.ofMillis(500));
    try (KvTransferNode node = KvTransferNode.start(config, new SimpleMeterRegistry());
        TransferChannel ch = node.connect(peer.endpoint());
        Arena arena = Arena.ofShared()) {
      signal("STOP", peer.pid());
      try {
        assertThat(ch.write(arena.allocate(4096), peer.region(), 0))
            .failsWithin(Duration.ofSeconds(5))
            .withThrowableThat()
            .havingCause()
            .isInstanceOf(KvTransferException.class)
            .withMessageContaining("timed out after PT0.5S")
            .withMessageContaining(peer.endpoint().address());
      } finally {
        signal("CONT", peer.pid());
      }
      ch.notify(1).get(10, TimeUnit.SECONDS);
    } finally {
      peer.close();
    }
  }

  @Test
  void aPeerSilentForTooLongIsDeclaredDeadAndTheChannelFailsFast() throws Exception {
    PeerProcess peer = PeerProcess.start(List.of("--region-bytes", "65536"));
    KvTransferConfig config =
        KvTransferConfig.defaults().withTransport(Mode.TCP).withPeerSilence(Duration.ofMillis(300));
    try (KvTransferNode node = KvTransferNode.start(config, new SimpleMeterRegistry());
        TransferChannel ch = node.connect(peer.endpoint());
        Arena arena = Arena.ofShared()) {
      ch.notify(0).get(10, TimeUnit.SECONDS);
      signal("STOP", peer.pid());
      try {
        long t0 = System.nanoTime();
        assertThat(ch.write(arena.allocate(4096), peer.region(), 0))
            .failsWithin(Duration.ofSeconds(5))
            .withThrowableThat()
            .havingCause()
            .isInstanceOf(KvTransferException.class)
            .withMessageContaining("sent nothing for PT0.3S")
            .withMessageContaining(peer.endpoint().address());
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
        await().atMost(Duration.ofSeconds(2)).until(() -> kvThreads().isEmpty());
      } finally {
        signal("CONT", peer.pid());
      }
    } finally {
      peer.close();
    }
  }

  static void signal(String sig, long pid) throws Exception {
    assertThat(new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).start().waitFor())
        .isZero();
  }

  @Test
  void closingANodeClosesTheChannelsItOpened() throws Exception {
    KvTransferConfig config = KvTransferConfig.defaults().withShmDir(shmDir);
    try (KvTransferNode receiver = KvTransferNode.start(config, new SimpleMeterRegistry())) {
      KvTransferNode writer = KvTransferNode.start(config, new SimpleMeterRegistry());
      TransferChannel tcp = writer.transportFor(receiver.endpoint()).connect(receiver.endpoint());
      tcp.close();
      TransferChannel ch = writer.connect(receiver.endpoint());
      assertThat(ch.isOpen()).isTrue();
      writer.close();
      assertThat(ch.isOpen()).isFalse();
      assertThat(tcp.isOpen()).isFalse();
      await().atMost(Duration.ofSeconds(2)).until(() -> kvThreads().isEmpty());
      await().atMost(Duration.ofSeconds(2)).until(() -> receiver.servedChannels() == 0);
    }
  }

  @Test
  void aNormalShutdownLeavesNoShmFilesBehind() throws Exception {
    PeerProcess peer =
        PeerProcess.start(List.of("--region-bytes", "65536", "--shm-dir", shmDir.toString()));
    assertThat(peer.command("files")).isEqualTo("1");
    assertThat(filesOf("duet-kv-" + peer.pid() + "-")).hasSize(1);
    peer.close();
    assertThat(peer.exitValue()).isZero();
    assertThat(filesOf("duet-kv-" + peer.pid() + "-")).isEmpty();
  }
}
