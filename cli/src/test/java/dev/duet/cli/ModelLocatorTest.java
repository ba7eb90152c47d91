package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.duet.engine.hub.DownloadListener;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --model} resolution: {@code hf:} specs against a minimal hub on 127.0.0.1 (the engine's
 * tests cover the hub client in depth), then loaded by {@code duet generate}; directories pass
 * through.
 */
@Timeout(60)
class ModelLocatorTest {
  static final String COMMIT = "fedcba9876543210fedcba9876543210fedcba98";

  @TempDir static Path dir;
  static HttpServer server;
  static byte[] gguf;
  static final List<String> served = new CopyOnWriteArrayList<>();
  static String previousCache;

  @BeforeAll
  static void startHub() throws Exception {
    previousCache = System.getProperty("duet.cache");
    System.setProperty("duet.cache", dir.resolve("cache").toString());
    Path model = dir.resolve("tiny.gguf");
    DuetCommandTest.Run r =
        DuetCommandTest.duet("model", "synth", "--preset", "tiny", "--out", model.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    gguf = Files.readAllBytes(model);
    String listing =
        new ObjectMapper()
            .writeValueAsString(
                Map.of(
                    "sha",
                    COMMIT,
                    "siblings",
                    List.of(Map.of("rfilename", "tiny.gguf", "size", gguf.length))));
    Map<String, byte[]> routes = new java.util.HashMap<>();
    routes.put("/api/models/acme/tiny/revision/main", listing.getBytes(StandardCharsets.UTF_8));
    routes.put("/acme/tiny/resolve/" + COMMIT + "/tiny.gguf", gguf);
    // acme/qwen: a Hugging Face directory (sharded safetensors, tokenizer.json, chat template).
    Path qwen = dir.resolve("qwen-src");
    r =
        DuetCommandTest.duet(
            "model",
            "synth",
            "--preset",
            "qwen-tiny",
            "--format",
            "hf",
            "--shard-mb",
            "0.2",
            "--out",
            qwen.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    List<Map<String, Object>> siblings = new java.util.ArrayList<>();
    try (var files = Files.list(qwen)) {
      for (Path f : files.sorted().toList()) {
        byte[] bytes = Files.readAllBytes(f);
        String name = f.getFileName().toString();
        siblings.add(Map.of("rfilename", name, "size", bytes.length));
        routes.put("/acme/qwen/resolve/" + COMMIT + "/" + name, bytes);
      }
    }
    siblings.add(Map.of("rfilename", "pytorch_model.bin", "size", 3));
    routes.put(
        "/api/models/acme/qwen/revision/main",
        new ObjectMapper().writeValueAsBytes(Map.of("sha", COMMIT, "siblings", siblings)));
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        ex -> {
          try (ex) {
            String path = ex.getRequestURI().getPath();
            served.add(path);
            byte[] body = routes.get(path);
            if (body == null) {
              ex.sendResponseHeaders(404, -1);
            } else {
              ex.sendResponseHeaders(200, body.length);
              ex.getResponseBody().write(body);
            }
          }
        });
    server.start();
  }

  @AfterAll
  static void stopHub() {
    server.stop(0);
    if (previousCache == null) {
      System.clearProperty("duet.cache");
    } else {
      System.setProperty("duet.cache", previousCache);
    }
  }

  static Map<String, String> env(String... more) {
    var map = new java.util.HashMap<String, String>();
    map.put("HF_ENDPOINT", "http://127.0.0.1:" + server.getAddress().getPort());
    for (int i = 0; i < more.length; i += 2) {
      map.put(more[i], more[i + 1]);
    }
    return map;
  }

  @Test
  void anHfFileSpecIsDownloadedIntoTheCacheAndLoadsLikeAnyGguf() throws Exception {
    List<String> notices = new CopyOnWriteArrayList<>();
    DownloadListener listener =
        new DownloadListener() {
          @Override
          public void notice(String message) {
            notices.add(message);
          }
        };

    Path file = ModelLocator.resolve("hf:acme/tiny/tiny.gguf", env(), listener);

    assertThat(file)
        .isEqualTo(dir.resolve("cache/hub/models--acme--tiny/snapshots/" + COMMIT + "/tiny.gguf"))
        .hasBinaryContent(gguf);
    DuetCommandTest.Run r =
        DuetCommandTest.duet(
            "generate", "--model", file.toString(), "--prompt", "hi", "--max-tokens", "2");
    assertThat(r.exit()).as(r.err()).isZero();

    Path offline =
        ModelLocator.resolve("hf:acme/tiny/tiny.gguf", env("HF_HUB_OFFLINE", "1"), listener);
    assertThat(offline).isEqualTo(file);
    assertThat(notices).singleElement().asString().contains("offline");
  }

  @Test
  void anHfRepoSpecDownloadsAHuggingFaceDirectoryThatGeneratesAndChats() throws Exception {
    Path snapshot = ModelLocator.resolve("hf:acme/qwen", env(), DownloadListener.NOOP);
    assertThat(snapshot.resolve("config.json")).isRegularFile();
    assertThat(snapshot.resolve("model.safetensors.index.json")).isRegularFile();
    assertThat(snapshot.resolve("pytorch_model.bin")).doesNotExist();
    assertThat(served).noneMatch(p -> p.endsWith(".bin"));
    DuetCommandTest.Run r =
        DuetCommandTest.duet(
            "generate",
            "--model",
            snapshot.toString(),
            "--chat",
            "--prompt",
            "hi",
            "--max-tokens",
            "3",
            "--ignore-eos");
    assertThat(r.exit()).as(r.err()).isZero();
    DuetCommandTest.Run inspect = DuetCommandTest.duet("model", "inspect", snapshot.toString());
    assertThat(inspect.out()).contains("qwen2").contains("byte-level BPE");
  }

  @Test
  void aModelDirectoryPassesThroughUnchanged() throws Exception {
    Path modelDir = Files.createDirectories(dir.resolve("hf-dir"));
    assertThat(ModelLocator.resolve(modelDir.toString(), Map.of(), DownloadListener.NOOP))
        .isEqualTo(modelDir);
  }

  @Test
  void hubErrorsReachTheUserAsOneLine() throws Exception {
    assertThatThrownBy(() -> ModelLocator.resolve("hf:acme/other", env(), DownloadListener.NOOP))
        .hasMessageContaining("hf:acme/other at revision main not found");
    DuetCommandTest.Run r = DuetCommandTest.duet("generate", "--model", "hf:acme", "--prompt", "x");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("duet: bad model spec 'hf:acme'");
  }

  @Test
  void theModelOptionHelpMentionsHubSpecs() {
    // picocli wraps lines where it likes, "hf:" included
    String generate = DuetCommandTest.duet("generate", "--help").out().replaceAll("\\s+", "");
    String bench = DuetCommandTest.duet("bench", "engine", "--help").out().replaceAll("\\s+", "");
    assertThat(generate).contains("hf:ORG/REPO[/FILE][@REVISION]").contains("HF_HUB_OFFLINE=1");
    assertThat(bench).contains("hf:ORG/REPO[/FILE][@REVISION]");
  }
}
