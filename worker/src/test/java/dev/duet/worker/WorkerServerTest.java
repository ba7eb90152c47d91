package dev.duet.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.exec.BatchScheduler;
import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.Generation;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import dev.duet.engine.tensor.ComputePool;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real worker on a real socket: concurrent streams are exact, bad input and hang-ups are safe.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WorkerServerTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  static ComputePool pool;
  static LlamaModel model;
  static InferenceEngine engine;
  static StepLoop loop;
  static Vertx vertx;
  static WorkerServer server;
  static int port;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    Path file = dir.resolve("gqa.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("gqa"), 3, GgmlType.F32, file);
    pool = new ComputePool(2);
    model = LlamaModel.load(file, pool);
    engine = InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(64));
    loop = new StepLoop(engine, new BatchScheduler.Options(64, 8, 4));
    vertx = Vertx.vertx();
    server =
        new WorkerServer(vertx, model, loop, new WorkerMetrics(loop, engine.cache().totalBlocks()));
    port = server.listen("127.0.0.1", 0).await();
  }

  @AfterAll
  static void stop() {
    server.close();
    vertx.close().await();
    loop.close();
    engine.close();
    model.close();
    pool.close();
  }

  private static HttpResponse<String> post(String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/internal/v1/generate"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void concurrentStreamsCarryExactlyTheTokensOfEachRequestAlone() throws Exception {
    SplittableRandom r = new SplittableRandom(1);
    List<int[]> prompts = new ArrayList<>();
    List<SamplingParams> params = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      int[] p = new int[2 + r.nextInt(60)];
      p[0] = 1;
      for (int j = 1; j < p.length; j++) {
        p[j] = 3 + r.nextInt(500);
      }
      prompts.add(p);
      params.add(
          i % 2 == 0
              ? SamplingParams.greedy(12).withIgnoreEos(true)
              : SamplingParams.random(0.9f, 40 + i, 12).withIgnoreEos(true));
    }
    List<List<Integer>> alone = new ArrayList<>();
    try (InferenceEngine solo =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(16))) {
      for (int i = 0; i < prompts.size(); i++) {
        Generation g = solo.generate("solo", prompts.get(i), params.get(i), 512, ev -> {});
        alone.add(g.generated());
      }
    }
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      SamplingParams p = params.get(i);
      var node = JSON.createObjectNode().put("id", "req-" + i);
      node.set("prompt_ids", JSON.valueToTree(prompts.get(i)));
      node.putObject("params")
          .put("temperature", p.temperature())
          .put("seed", p.seed())
          .put("max_tokens", p.maxTokens())
          .put("ignore_eos", true);
      String body = JSON.writeValueAsString(node);
      calls.add(
          http.sendAsync(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + port + "/internal/v1/generate"))
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    int accepted = 0;
    for (int i = 0; i < calls.size(); i++) {
      HttpResponse<String> resp = calls.get(i).get();
      if (resp.statusCode() == 429) {
        continue; // the queue of 4 was full: refused at once, not queued blindly
      }
      accepted++;
      assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
      List<Integer> ids = new ArrayList<>();
      JsonNode last = null;
      for (String line : resp.body().split("\n")) {
        last = JSON.readTree(line);
        if (last.has("token")) {
          ids.add(last.get("token").asInt());
        }
      }
      assertThat(ids).as("request %d", i).isEqualTo(alone.get(i));
      assertThat(last.path("finished").asBoolean()).isTrue();
      assertThat(last.path("finish_reason").asText()).isEqualTo("length");
      assertThat(last.path("prompt_tokens").asInt()).isEqualTo(prompts.get(i).length);
    }
    assertThat(accepted).isGreaterThanOrEqualTo(4);
    assertThat(engine.cache().usedBlocks()).isZero();
  }

  @Test
  void badRequestsGetA400AndTheWorkerKeepsServing() throws Exception {
    assertThat(post("{not json").statusCode()).isEqualTo(400);
    assertThat(post("{\"id\":\"x\"}").body()).contains("prompt_ids");
    assertThat(post("{\"id\":\"x\",\"prompt_ids\":[1,99999]}").body()).contains("prompt_ids[1]");
    HttpResponse<String> tooLong =
        post("{\"id\":\"x\",\"prompt_ids\":" + JSON.writeValueAsString(new int[600]) + "}");
    assertThat(tooLong.statusCode()).isEqualTo(400);
    assertThat(tooLong.body()).contains("context");
    HttpResponse<String> ok =
        post("{\"id\":\"fine\",\"prompt\":\"hello\",\"params\":{\"max_tokens\":3}}");
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).contains("\"finished\":true");
    String metrics =
        http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertThat(metrics)
        .contains("duet_worker_kv_blocks_free")
        .contains("duet_worker_rejections_total{reason=\"bad_request\"}")
        .containsPattern("duet_worker_requests_total\\{finish_reason=\"(length|stop)\"\\}");
  }

  @Test
  void aClientThatHangsUpCancelsItsRequestAndFreesItsBlocks() throws Exception {
    String body =
        "{\"id\":\"hangup\",\"prompt_ids\":[1,5,6,7],\"params\":{\"max_tokens\":400,"
            + "\"ignore_eos\":true}}";
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST /internal/v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + "Content-Length: "
                  + body.length()
                  + "\r\n\r\n"
                  + body)
              .getBytes(StandardCharsets.UTF_8));
      out.flush();
      BufferedReader in =
          new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null && !line.contains("\"token\"")) {
        // headers and chunk sizes, until the first token event
      }
      assertThat(line).contains("token");
      assertThat(engine.cache().usedBlocks()).isPositive();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (engine.cache().usedBlocks() > 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(engine.cache().usedBlocks()).isZero();
  }
}
