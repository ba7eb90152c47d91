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
 * A worker that dies mid-stream: the client's stream ends with an error event and [DONE] (no hang),
 * the instance is dead after three missed heartbeats, and new requests go elsewhere.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WorkerFailureTest {

  @TempDir Path dir;

  @Test
  void aWorkerDyingMidStreamEndsTheStreamCleanlyAndTrafficMovesOn() throws Exception {
    ObjectMapper json = new ObjectMapper();
    Path file = dir.resolve("small.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("small"), 1, GgmlType.F32, file);
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(file, pool);
        TestCluster cluster = new TestCluster(model, "small", 2, 64, Duration.ZERO)) {
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest longStream =
          HttpRequest.newBuilder(cluster.uri("/v1/completions"))
              .POST(
                  HttpRequest.BodyPublishers.ofString(
                      "{\"model\":\"small\",\"prompt\":\"Once\",\"max_tokens\":500,"
                          + "\"ignore_eos\":true,\"stream\":true}"))
              .build();
      HttpResponse<InputStream> resp =
          http.send(longStream, HttpResponse.BodyHandlers.ofInputStream());
      assertThat(resp.statusCode()).isEqualTo(200);
      BufferedReader in =
          new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8));
      assertThat(in.readLine()).startsWith("data: {");
      int serving = cluster.engines.get(0).cache().usedBlocks() > 0 ? 0 : 1;
      assertThat(cluster.engines.get(serving).cache().usedBlocks()).isPositive();
      cluster.kill(serving);

      List<String> rest = new ArrayList<>();
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.startsWith("data: ")) {
          rest.add(line.substring("data: ".length()));
        }
      }
      assertThat(rest).last().isEqualTo("[DONE]");
      JsonNode error = json.readTree(rest.get(rest.size() - 2));
      assertThat(error.at("/error/type").asText()).isEqualTo("upstream_error");

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
  void aDecodeWorkerDyingMidStreamInASplitClusterEndsTheStreamCleanly() throws Exception {
    ObjectMapper json = new ObjectMapper();
    Path file = dir.resolve("small-split.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("small"), 1, GgmlType.F32, file);
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(file, pool);
        TestCluster cluster =
            new TestCluster(
                model, "small", List.of("prefill", "decode", "decode"), 64, Duration.ZERO)) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      HttpResponse<InputStream> resp =
          http.send(
              HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"small\",\"prompt\":\"Once\",\"max_tokens\":500,"
                              + "\"ignore_eos\":true,\"stream\":true}"))
                  .build(),
              HttpResponse.BodyHandlers.ofInputStream());
      assertThat(resp.statusCode()).isEqualTo(200);
      BufferedReader in =
          new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8));
      assertThat(in.readLine()).startsWith("data: {");
      assertThat(in.readLine()).isEmpty();
      assertThat(in.readLine()).startsWith("data: {"); // a token from the decode worker
      int serving = cluster.engines.get(1).cache().usedBlocks() > 0 ? 1 : 2;
      assertThat(cluster.engines.get(serving).cache().usedBlocks()).isPositive();
      cluster.kill(serving);
      List<String> rest = new ArrayList<>();
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.startsWith("data: ")) {
          rest.add(line.substring("data: ".length()));
        }
      }
      assertThat(rest).last().isEqualTo("[DONE]");
      assertThat(json.readTree(rest.get(rest.size() - 2)).at("/error/type").asText())
          .isEqualTo("upstream_error");
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
    }
  }
}
