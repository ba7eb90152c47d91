package dev.duet.engine.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.safetensors.SafetensorsWriter;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link HfHub} against a {@link LocalHub} on 127.0.0.1: downloads, cache, resume, errors. */
@Timeout(30)
class HfHubTest {
  static final String C1 = "0123456789abcdef0123456789abcdef01234567";
  static final String C2 = "89abcdef0123456789abcdef0123456789abcdef";
  static final String GGUF = "tiny-f32.gguf";

  @TempDir static Path models;
  static byte[] gguf;
  static byte[] safetensors;
  static byte[] config =
      "{\"architectures\":[\"LlamaForCausalLM\"]}".getBytes(StandardCharsets.UTF_8);
  static byte[] tokenizer = "{\"model\":{\"type\":\"BPE\"}}".getBytes(StandardCharsets.UTF_8);

  @TempDir Path cache;
  LocalHub hub;
  final List<String> heard = new CopyOnWriteArrayList<>();
  final DownloadListener recorder =
      new DownloadListener() {
        @Override
        public void started(String file, long totalBytes, long resumedFrom) {
          heard.add("started " + file + " " + totalBytes + " from " + resumedFrom);
        }

        @Override
        public void finished(String file, long totalBytes, long downloadedBytes, long nanos) {
          heard.add("finished " + file + " " + totalBytes);
        }

        @Override
        public void notice(String message) {
          heard.add("notice " + message);
        }
      };

  @BeforeAll
  static void writeModels() throws IOException {
    Path g = models.resolve(GGUF);
    SyntheticModelWriter.write(SyntheticModel.preset("tiny"), 7, GgmlType.F32, g);
    gguf = Files.readAllBytes(g);
    Path s = models.resolve("model.safetensors");
    new SafetensorsWriter()
        .addTensor("w", GgmlType.F32, new long[] {4, 8}, () -> new float[32])
        .write(s);
    safetensors = Files.readAllBytes(s);
  }

  @BeforeEach
  void startHub() throws IOException {
    hub =
        new LocalHub("acme", "tiny")
            .file("config.json", config, false)
            .file("tokenizer.json", tokenizer, false)
            .file("model.safetensors", safetensors, true)
            .file("pytorch_model.bin", new byte[100], true)
            .file("model.onnx", new byte[50], true)
            .file(GGUF, gguf, true)
            .file("README.md", "# tiny".getBytes(StandardCharsets.UTF_8), false)
            .commit(C1, "main");
  }

  @AfterEach
  void stopHub() {
    hub.close();
  }

  HfHub client(String... env) {
    Map<String, String> map = new HashMap<>();
    map.put("HF_ENDPOINT", hub.endpoint().toString());
    for (int i = 0; i < env.length; i += 2) {
      map.put(env[i], env[i + 1]);
    }
    HubConfig config =
        HubConfig.fromEnvironment(map, cache)
            .withTimeouts(Duration.ofSeconds(2), Duration.ofMillis(500));
    return new HfHub(config, recorder);
  }

  Path resolve(String spec, String... env) throws IOException {
    try (HfHub h = client(env)) {
      return h.resolve(spec);
    }
  }

  @Test
  void aSingleFileIsDownloadedThroughTheCdnRedirectIntoTheCommitsSnapshot() throws Exception {
    Path file = resolve("hf:acme/tiny/" + GGUF);

    assertThat(file)
        .isEqualTo(cache.resolve("hub/models--acme--tiny/snapshots/" + C1 + "/" + GGUF));
    assertThat(Files.readAllBytes(file)).isEqualTo(gguf);
    assertThat(cache.resolve("hub/models--acme--tiny/refs/main")).hasContent(C1);
    assertThat(hub.downloads())
        .extracting(LocalHub.Request::path)
        .containsExactly("/acme/tiny/resolve/" + C1 + "/" + GGUF, "/cdn/" + LocalHub.sha256(gguf));
    assertThat(heard)
        .containsExactly(
            "started acme/tiny/" + GGUF + " " + gguf.length + " from 0",
            "finished acme/tiny/" + GGUF + " " + gguf.length);
    assertThat(file.resolveSibling(GGUF + ".incomplete")).doesNotExist();
  }

  @Test
  void aRepositoryDownloadFetchesWhatLoadingNeedsAndSkipsTheRest() throws Exception {
    Path dir = resolve("hf:acme/tiny");

    assertThat(dir).isEqualTo(cache.resolve("hub/models--acme--tiny/snapshots/" + C1));
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("config.json", "tokenizer.json", "model.safetensors");
    }
    assertThat(Files.readAllBytes(dir.resolve("model.safetensors"))).isEqualTo(safetensors);
    assertThat(hub.downloads())
        .noneMatch(r -> r.path().endsWith(".bin") || r.path().endsWith(".gguf"));
  }

  @Test
  void aShardedRepositoryFetchesTheShardsItsIndexNamesAndNothingElse() throws Exception {
    Path sharded = models.resolve("sharded");
    SafetensorsWriter writer = new SafetensorsWriter();
    for (int i = 0; i < 3; i++) {
      writer.addTensor("layer" + i, GgmlType.F32, new long[] {16}, () -> new float[16]);
    }
    List<Path> written = writer.writeSharded(sharded, 64);
    hub.remove("model.safetensors").file("consolidated.safetensors", safetensors, true);
    for (Path p : written) {
      hub.file(
          p.getFileName().toString(), Files.readAllBytes(p), p.toString().endsWith(".safetensors"));
    }
    hub.commit(C2, "main");

    Path dir = resolve("hf:acme/tiny");

    assertThat(dir.getFileName().toString()).isEqualTo(C2);
    for (Path p : written) {
      assertThat(Files.readAllBytes(dir.resolve(p.getFileName().toString())))
          .isEqualTo(Files.readAllBytes(p));
    }
    assertThat(written).hasSize(4); // three shards and the index
    assertThat(dir.resolve("consolidated.safetensors")).doesNotExist();
  }

  @Test
  void aSecondResolveIsServedFromTheCacheWithoutDownloading() throws Exception {
    Path first = resolve("hf:acme/tiny/" + GGUF);
    Path dir = resolve("hf:acme/tiny");
    hub.clearRequests();

    assertThat(resolve("hf:acme/tiny/" + GGUF)).isEqualTo(first);
    assertThat(resolve("hf:acme/tiny@main")).isEqualTo(dir);
    assertThat(hub.downloads()).isEmpty();
    assertThat(hub.requests()).hasSize(2); // one listing each, to learn where main points
  }

  @Test
  void aFilePinnedToACachedCommitNeedsNoRequestAtAll() throws Exception {
    Path first = resolve("hf:acme/tiny/" + GGUF + "@" + C1);
    hub.clearRequests();

    assertThat(resolve("hf:acme/tiny/" + GGUF + "@" + C1)).isEqualTo(first);
    assertThat(hub.requests()).isEmpty();
  }

  @Test
  void whenABranchMovesTheNewCommitIsFetchedAndItsRefFollows() throws Exception {
    Path old = resolve("hf:acme/tiny/config.json");
    byte[] newer = "{\"architectures\":[],\"v\":2}".getBytes(StandardCharsets.UTF_8);
    hub.file("config.json", newer, false).commit(C2, "main", "v2");

    Path now = resolve("hf:acme/tiny/config.json");
    Path tagged = resolve("hf:acme/tiny/config.json@v2");

    assertThat(old).hasBinaryContent(config);
    assertThat(now).isEqualTo(tagged).hasBinaryContent(newer);
    assertThat(now.toString()).contains(C2);
    assertThat(cache.resolve("hub/models--acme--tiny/refs/main")).hasContent(C2);
    assertThat(cache.resolve("hub/models--acme--tiny/refs/v2")).hasContent(C2);
    assertThat(resolve("hf:acme/tiny/config.json@" + C1)).isEqualTo(old);
  }

  @Test
  void anInterruptedDownloadResumesWithARangeRequest() throws Exception {
    Path target = cache.resolve("hub/models--acme--tiny/snapshots/" + C1 + "/" + GGUF);
    Files.createDirectories(target.getParent());
    int half = gguf.length / 2;
    Files.write(target.resolveSibling(GGUF + ".incomplete"), java.util.Arrays.copyOf(gguf, half));

    Path file = resolve("hf:acme/tiny/" + GGUF);

    assertThat(Files.readAllBytes(file)).isEqualTo(gguf);
    assertThat(hub.downloads())
        .extracting(LocalHub.Request::range)
        .containsOnly("bytes=" + half + "-");
    assertThat(heard).first().asString().endsWith("from " + half);
  }

  @Test
  void aDownloadAnotherProcessIsWritingIsLeftAlone() throws Exception {
    Path partial =
        cache.resolve("hub/models--acme--tiny/snapshots/" + C1 + "/" + GGUF + ".incomplete");
    Files.createDirectories(partial.getParent());
    Files.write(partial, new byte[] {1, 2, 3});
    try (var channel =
            java.nio.channels.FileChannel.open(partial, java.nio.file.StandardOpenOption.WRITE);
        var lock = channel.lock()) {
      assertThatThrownBy(() -> resolve("hf:acme/tiny/" + GGUF))
          .hasMessageContaining("another download is writing " + partial);
    }
    assertThat(partial).hasBinaryContent(new byte[] {1, 2, 3});
    assertThat(hub.downloads()).isEmpty();
  }

  @Test
  void aServerThatIgnoresTheRangeIsReadFromTheStart() throws Exception {
    hub.ignoreRanges();
    Path target = cache.resolve("hub/models--acme--tiny/snapshots/" + C1 + "/" + GGUF);
    Files.createDirectories(target.getParent());
    byte[] garbage = new byte[1000];
    java.util.Arrays.fill(garbage, (byte) 7);
    Files.write(target.resolveSibling(GGUF + ".incomplete"), garbage);

    assertThat(Files.readAllBytes(resolve("hf:acme/tiny/" + GGUF))).isEqualTo(gguf);
  }

  @Test
  void aSha256MismatchFailsNamingTheFileAndLeavesNoFileBehind() throws Exception {
    hub.corrupt(GGUF);
    String expected = LocalHub.sha256(gguf);

    assertThatThrownBy(() -> resolve("hf:acme/tiny/" + GGUF))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("sha256 mismatch for acme/tiny/" + GGUF)
        .hasMessageContaining("expected " + expected)
        .hasMessageContaining("got ");
    Path snapshot = cache.resolve("hub/models--acme--tiny/snapshots/" + C1);
    assertThat(snapshot.resolve(GGUF)).doesNotExist();
    assertThat(snapshot.resolve(GGUF + ".incomplete")).doesNotExist();
  }

  @Test
  void aGatedRepositoryAsksForHfTokenAndOpensWithIt() throws Exception {
    hub.requireToken("hf_secret");

    assertThatThrownBy(() -> resolve("hf:acme/tiny/" + GGUF))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("HTTP 401")
        .hasMessageContaining("set HF_TOKEN")
        .hasMessageContaining("/api/models/acme/tiny/revision/main");
    assertThatThrownBy(() -> resolve("hf:acme/tiny/" + GGUF, "HF_TOKEN", "hf_wrong"))
        .hasMessageContaining("HF_TOKEN is set but does not grant access");

    Path file = resolve("hf:acme/tiny/" + GGUF, "HF_TOKEN", "hf_secret");

    assertThat(file).hasBinaryContent(gguf);
    assertThat(hub.requests())
        .last()
        .extracting(LocalHub.Request::authorization)
        .isEqualTo("Bearer hf_secret");
  }

  @Test
  void theTokenIsNotSentToACdnOnAnotherOrigin() throws Exception {
    try (LocalHub cdn = new LocalHub("cdn", "cdn")) {
      hub.cdnAt(cdn).commit(C1, "main").requireToken("hf_secret");

      Path file = resolve("hf:acme/tiny/" + GGUF, "HF_TOKEN", "hf_secret");

      assertThat(file).hasBinaryContent(gguf);
      assertThat(hub.downloads())
          .singleElement()
          .extracting(LocalHub.Request::authorization)
          .isEqualTo("Bearer hf_secret");
      assertThat(cdn.requests())
          .singleElement()
          .extracting(LocalHub.Request::authorization)
          .isNull();
    }
  }

  @Test
  void aMissingRepositoryRevisionOrFileIsNamed() {
    assertThatThrownBy(() -> resolve("hf:acme/nope"))
        .hasMessageContaining("hf:acme/nope at revision main not found")
        .hasMessageContaining("HTTP 404");
    assertThatThrownBy(() -> resolve("hf:acme/tiny@v9"))
        .hasMessageContaining("revision v9 not found");
    assertThatThrownBy(() -> resolve("hf:acme/tiny/missing.gguf"))
        .hasMessageContaining("file missing.gguf not found in hf:acme/tiny")
        .hasMessageContaining(GGUF);
  }

  @Test
  void aServerErrorNamesTheUrlAndStatusAndIsNotMistakenForOffline() throws Exception {
    resolve("hf:acme/tiny/" + GGUF);
    hub.failListingsWith(503);

    assertThatThrownBy(() -> resolve("hf:acme/tiny/" + GGUF))
        .isInstanceOf(HubException.class)
        .hasMessageContaining(
            "HTTP 503 from " + hub.endpoint() + "/api/models/acme/tiny/revision/main?blobs=true");
    assertThat(heard).noneMatch(n -> n.contains("offline"));
  }

  @Test
  void aGgufOnlyRepositoryAsksTheUserToNameOne() {
    hub.remove("model.safetensors").commit(C2, "main");

    assertThatThrownBy(() -> resolve("hf:acme/tiny"))
        .hasMessageContaining("only GGUF files")
        .hasMessageContaining("hf:acme/tiny/" + GGUF);
  }

  @Test
  void offlineModeUsesTheCacheWithoutTouchingTheNetworkAndSaysSo() throws Exception {
    Path file = resolve("hf:acme/tiny/" + GGUF);
    Path dir = resolve("hf:acme/tiny");
    hub.clearRequests();
    heard.clear();

    assertThat(resolve("hf:acme/tiny/" + GGUF, "HF_HUB_OFFLINE", "1")).isEqualTo(file);
    assertThat(resolve("hf:acme/tiny", "HF_HUB_OFFLINE", "true")).isEqualTo(dir);
    assertThat(hub.requests()).isEmpty();
    assertThat(heard)
        .hasSize(2)
        .allMatch(
            n -> n.startsWith("notice offline (HF_HUB_OFFLINE is set): using cached hf:acme/tiny"));
  }

  @Test
  void offlineModeWithoutTheFilesInTheCacheFailsSayingSo() throws Exception {
    assertThatThrownBy(() -> resolve("hf:acme/tiny/" + GGUF, "HF_HUB_OFFLINE", "1"))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("offline (HF_HUB_OFFLINE is set)")
        .hasMessageContaining("is not in the cache");
    resolve("hf:acme/tiny/config.json"); // the ref and part of the snapshot, not the weights
    assertThatThrownBy(() -> resolve("hf:acme/tiny", "HF_HUB_OFFLINE", "1"))
        .hasMessageContaining("is incomplete: no .safetensors file");
  }

  @Test
  void anUnreachableHubFallsBackToTheCacheAndFailsClearlyWithoutIt() throws Exception {
    Path file = resolve("hf:acme/tiny/" + GGUF);
    hub.close();
    heard.clear();

    assertThat(resolve("hf:acme/tiny/" + GGUF)).isEqualTo(file);
    assertThat(heard)
        .singleElement()
        .asString()
        .startsWith("notice offline (cannot reach " + hub.endpoint())
        .contains("using cached hf:acme/tiny/" + GGUF + "@main at commit " + C1.substring(0, 12));
    assertThatThrownBy(() -> resolve("hf:acme/tiny"))
        .hasMessageContaining("offline (cannot reach " + hub.endpoint())
        .hasMessageContaining("hf:acme/tiny@main is not in the cache");
  }

  @Test
  void aDownloadThatStallsTimesOutAndKeepsWhatArrivedForAResume() throws Exception {
    hub.stall(GGUF);

    assertThatThrownBy(() -> resolve("hf:acme/tiny/" + GGUF))
        .isInstanceOf(HubException.class)
        .hasMessageContaining("while downloading acme/tiny/" + GGUF)
        .hasMessageContaining("run again to resume");
    Path partial =
        cache.resolve("hub/models--acme--tiny/snapshots/" + C1 + "/" + GGUF + ".incomplete");
    assertThat(Files.size(partial)).isEqualTo(gguf.length / 2);
    assertThat(Thread.currentThread().isInterrupted()).isFalse();
  }
}
