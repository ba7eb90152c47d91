package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

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
 * TTFT admission never starves an idle instance: with a budget no estimate can meet, requests sent
 * one at a time (nothing ahead of any of them) are all served.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TtftRejectionTest {

  @TempDir Path dir;

  @Test
  void anIdleInstanceServesEvenUnderABudgetNoEstimateMeets() throws Exception {
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
      // An idle instance takes a prompt whatever its estimate: nothing is ahead of it, and an
      // instance that refused on a cold estimate would never run the pass that corrects it.
      // (Refusal with a backlog: StepLoopTest.)
      List<Integer> statuses = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        statuses.add(r.statusCode());
      }
      assertThat(statuses).containsOnly(200);
      String scraped =
          cluster.workerMetrics.get(0).scrape() + cluster.workerMetrics.get(1).scrape();
      assertThat(scraped).doesNotContain("reason=\"ttft_budget\"");
      assertThat(cluster.gateway.metrics().scrape()).doesNotContain("duet_rejections_total");
    }
  }
}
