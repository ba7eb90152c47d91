package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.ControllerServer;
import dev.duet.controller.openai.OpenAiResponses;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.routing.Router;
import dev.duet.engine.exec.BatchScheduler;
import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import dev.duet.engine.tensor.ComputePool;
import dev.duet.worker.ControllerLink;
import dev.duet.worker.StepLoop;
import dev.duet.worker.WorkerMetrics;
import dev.duet.worker.WorkerServer;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * On-demand forwarding: with a TTFT budget no measured instance can meet, an instance refuses at
 * once and the request goes to the next; when every instance refuses, the client gets a 503 with
 * Retry-After, never a queue.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TtftRejectionTest {

  @TempDir Path dir;

  @Test
  void aRefusedRequestIsForwardedAndWhenAllRefuseItIsA503() throws Exception {
    ObjectMapper json = new ObjectMapper();
    Path file = dir.resolve("tiny.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("tiny"), 1, GgmlType.F32, file);
    List<AutoCloseable> closers = new ArrayList<>();
    List<WorkerMetrics> workerMetrics = new ArrayList<>();
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(file, pool)) {
      Vertx vertx = Vertx.vertx();
      InstanceRegistry registry = new InstanceRegistry(System::nanoTime);
      Gateway gateway =
          new Gateway(
              ServedModel.of("tiny", model),
              registry,
              new Router(),
              new OpenAiResponses(Clock.systemUTC(), new SplittableRandom(1)),
              vertx.createHttpClient(),
              new SplittableRandom(2),
              new GatewayMetrics(registry),
              Duration.ofNanos(1)); // no measured instance can start a prompt this fast
      ControllerServer controller = new ControllerServer(vertx, gateway, registry);
      int port = controller.listen("127.0.0.1", 0).await();
      for (int w = 0; w < 2; w++) {
        InferenceEngine engine =
            InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(32));
        StepLoop loop = new StepLoop(engine, new BatchScheduler.Options(64, 8, 16));
        WorkerMetrics metrics = new WorkerMetrics(loop, 32);
        workerMetrics.add(metrics);
        WorkerServer server = new WorkerServer(vertx, model, loop, metrics);
        int wport = server.listen("127.0.0.1", 0).await();
        ObjectNode d = json.createObjectNode();
        d.put("id", "w" + w);
        d.put("role", "both");
        d.put("endpoint", "http://127.0.0.1:" + wport);
        d.put("model", "tiny");
        d.put("kv_blocks", 32);
        d.put("block_size", 16);
        d.put("max_batch", 8);
        ControllerLink link =
            new ControllerLink(vertx, URI.create("http://127.0.0.1:" + port), d, loop);
        link.start();
        closers.addAll(List.of(link, server, loop, engine));
      }
      closers.add(controller);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (registry.alive().size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
              .POST(
                  HttpRequest.BodyPublishers.ofString(
                      "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\",\"max_tokens\":2}"))
              .build();
      // Each instance serves its first request (nothing measured yet), then refuses.
      List<Integer> statuses = new ArrayList<>();
      HttpResponse<String> last = null;
      for (int i = 0; i < 3; i++) {
        last = http.send(request, HttpResponse.BodyHandlers.ofString());
        statuses.add(last.statusCode());
      }
      assertThat(statuses).containsExactly(200, 200, 503);
      assertThat(last.headers().firstValue("retry-after")).hasValue("1");
      assertThat(json.readTree(last.body()).at("/error/type").asText())
          .isEqualTo("server_overloaded");
      String refusals = workerMetrics.get(0).scrape() + workerMetrics.get(1).scrape();
      // The second request was refused by the instance served first, then forwarded.
      assertThat(refusals).contains("duet_worker_rejections_total{reason=\"ttft_budget\"}");
      assertThat(gateway.metrics().scrape()).contains("duet_rejections_total 1.0");
      for (AutoCloseable c : closers) {
        c.close();
      }
      vertx.close().await();
    }
  }
}
