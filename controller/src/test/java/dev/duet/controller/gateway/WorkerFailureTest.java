package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import dev.duet.engine.tensor.ComputePool;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker that dies mid-stream: the request is recovered on another instance and the client's
 * stream goes on with exactly the text it would have got; the instance is dead after three missed
 * heartbeats and new requests go elsewhere; with no instance left, a clean error (no hang) and
 * 503s.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WorkerFailureTest {

  @TempDir Path dir;

  private static final String LONG_SEEDED =
      "{\"model\":\"small\",\"prompt\":\"Once\",\"max_tokens\":300,\"ignore_eos\":true,"
          + "\"temperature\":0.9,\"seed\":7,\"stream\":true}";

  private static List<String> rest(BufferedReader in) throws Exception {
    List<String> rest = new ArrayList<>();
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.startsWith("data: ")) {
        rest.add(line.substring("data: ".length()));
      }
    }
    return rest;
  }

  private static CompletionStream stream(HttpClient http, TestCluster cluster) throws Exception {
    return new CompletionStream(http, cluster.uri("/v1/completions"), LONG_SEEDED);
  }

  @Test
  void aWorkerDyingMidStreamIsRecoveredElsewhereWithTheExactText() throws Exception {
    ObjectMapper json = new ObjectMapper();
    Path file = dir.resolve("small.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("small"), 1, GgmlType.F32, file);
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(file, pool);
        TestCluster cluster = new TestCluster(model, "small", 2, 64, Duration.ZERO)) {
      HttpClient http = HttpClient.newHttpClient();
      String expected = stream(http, cluster).read(Integer.MAX_VALUE).text.toString();
      CompletionStream s = stream(http, cluster).read(5); // a few tokens in
      int serving = cluster.engines.get(0).cache().usedBlocks() > 0 ? 0 : 1;
      assertThat(cluster.engines.get(serving).cache().usedBlocks()).isPositive();
      cluster.kill(serving);
      s.read(Integer.MAX_VALUE);
      assertThat(s.sawDone).isTrue();
      assertThat(s.text.toString()).isEqualTo(expected);
      assertThat(cluster.gateway.metrics().scrape())
          .contains("duet_recoveries_total{outcome=\"recovered\"} 1.0");

      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (cluster.registry.alive().size() > 1 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(cluster.registry.alive())
          .extracting(v -> v.id())
          .containsExactly("w" + (1 - serving));
      assertThat(cluster.events.page(0, 100).events())
          .as("the death is in the operator's event log, once")
          .filteredOn(e -> e.kind() == dev.duet.controller.events.EventKind.INSTANCE_DEAD)
          .extracting(e -> e.instance())
          .containsExactly("w" + serving);
      HttpResponse<String> next =
          http.send(
              HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"small\",\"prompt\":\"Once\",\"max_tokens\":3}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(next.statusCode()).as(next.body()).isEqualTo(200);

      // With no live instance left the controller is not ready, and requests get a 503.
      cluster.kill(1 - serving);
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!cluster.registry.alive().isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(
              http.send(
                      HttpRequest.newBuilder(cluster.uri("/health/ready")).build(),
                      HttpResponse.BodyHandlers.ofString())
                  .statusCode())
          .isEqualTo(503);
      HttpResponse<String> none =
          http.send(
              HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"small\",\"prompt\":\"Once\",\"max_tokens\":3}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(none.statusCode()).isEqualTo(503);
      assertThat(none.headers().firstValue("retry-after")).isPresent();
    }
  }

  @Test
  void aStreamWhoseLastInstanceDiesEndsWithACleanError() throws Exception {
    ObjectMapper json = new ObjectMapper();
    Path file = dir.resolve("small-one.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("small"), 1, GgmlType.F32, file);
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(file, pool);
        TestCluster cluster = new TestCluster(model, "small", 1, 64, Duration.ZERO)) {
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<InputStream> resp =
          http.send(
              HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString(LONG_SEEDED))
                  .build(),
              HttpResponse.BodyHandlers.ofInputStream());
      BufferedReader in =
          new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8));
      assertThat(in.readLine()).startsWith("data: {");
      cluster.kill(0);
      List<String> rest = rest(in);
      assertThat(rest).last().isEqualTo("[DONE]");
      JsonNode error = json.readTree(rest.get(rest.size() - 2));
      assertThat(error.at("/error/type").asText()).isEqualTo("upstream_error");
      assertThat(cluster.gateway.metrics().scrape())
          .contains("duet_recoveries_total{outcome=\"failed\"} 1.0");
    }
  }

  @Test
  void aDecodeWorkerDyingMidStreamInASplitClusterIsRecoveredOnTheOther() throws Exception {
    ObjectMapper json = new ObjectMapper();
    Path file = dir.resolve("small-split.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("small"), 1, GgmlType.F32, file);
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(file, pool);
        TestCluster cluster =
            new TestCluster(
                model, "small", List.of("prefill", "decode", "decode"), 64, Duration.ZERO)) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      String expected = stream(http, cluster).read(Integer.MAX_VALUE).text.toString();
      CompletionStream s = stream(http, cluster).read(5); // a few tokens in
      int serving = cluster.engines.get(1).cache().usedBlocks() > 0 ? 1 : 2;
      assertThat(cluster.engines.get(serving).cache().usedBlocks()).isPositive();
      cluster.kill(serving);
      s.read(Integer.MAX_VALUE);
      assertThat(s.sawDone).isTrue();
      assertThat(s.text.toString()).isEqualTo(expected);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (cluster.registry.alive().size() > 2 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      HttpResponse<String> next =
          http.send(
              HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"small\",\"prompt\":\"Once\",\"max_tokens\":3}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
      assertThat(cluster.engines.get(0).cache().usedBlocks()).isZero();
      assertThat(cluster.engines.get(3 - serving).cache().usedBlocks()).isZero();
      assertThat(json.readTree(next.body()).at("/usage/completion_tokens").asInt()).isEqualTo(3);
    }
  }
}
