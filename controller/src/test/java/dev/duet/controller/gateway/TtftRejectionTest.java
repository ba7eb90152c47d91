package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import dev.duet.engine.tensor.ComputePool;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
    try (ComputePool pool = new ComputePool(1);
        LlamaModel model = LlamaModel.load(file, pool);
        // No measured instance can start a prompt within a nanosecond.
        TestCluster cluster = new TestCluster(model, "tiny", 2, 32, Duration.ofNanos(1))) {
      int port = cluster.port;
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
      String refusals =
          cluster.workerMetrics.get(0).scrape() + cluster.workerMetrics.get(1).scrape();
      // The second request was refused by the instance served first, then forwarded.
      assertThat(refusals).contains("duet_worker_rejections_total{reason=\"ttft_budget\"}");
      assertThat(cluster.gateway.metrics().scrape()).contains("duet_rejections_total 1.0");
    }
  }
}
