package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.sim.LatencyProfile;
import dev.duet.engine.sim.LatencyProfile.Coefficients;
import dev.duet.engine.sim.LatencyProfile.Geometry;
import dev.duet.engine.sim.SimModel;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * TTFT admission with a backlog, end to end on real workers: while both prefill instances are busy
 * with long prompts, a request whose first token neither could give within the budget is refused by
 * each (429, counted on the worker), and the client gets one 503 with {@code Retry-After} that says
 * every prefill instance refused; the decode blocks reserved for it are given back, and the prompts
 * already running are answered as one instance alone answers them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PrefillRefusalTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A millisecond per prompt token: a 1,024-token prompt is 16 passes of 64, about a second. */
  private static final LatencyProfile PROFILE =
      new LatencyProfile(
          "prefill-refusal-test",
          new Coefficients(1, 1, 0),
          new Coefficients(1, 0.01, 0),
          new Geometry(4, 4, 2, 16, 64, 128, KvDtype.BF16, 2000, 2048));

  private static final String LONG =
      "{\"model\":\"sim\",\"max_tokens\":4,\"temperature\":0,\"prompt\":"
          + IntStream.range(0, 1024)
              .mapToObj(i -> Integer.toString(1 + (i * 37) % 1999))
              .collect(Collectors.joining(",", "[", "]"))
          + "}";

  private static final String SHORT =
      "{\"model\":\"sim\",\"max_tokens\":4,\"temperature\":0,\"prompt\":[5,6,7,8]}";

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void aPromptNoBusyPrefillInstanceCanStartInTimeGetsA503AndItsDecodeBlocksBack() throws Exception {
    try (SimModel model = SimModel.create(PROFILE, 1, 1);
        TestCluster cluster =
            new TestCluster(
                model,
                "sim",
                List.of("prefill", "prefill", "decode"),
                256,
                Duration.ofMillis(300))) {
      CompletableFuture<HttpResponse<String>> first = post(cluster, LONG);
      awaitBusy(cluster, 0);
      CompletableFuture<HttpResponse<String>> second = post(cluster, LONG);
      awaitBusy(cluster, 1);

      HttpResponse<String> refused = post(cluster, SHORT).get(30, TimeUnit.SECONDS);

      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
      assertThat(refused.headers().firstValue("retry-after")).contains("1");
      JsonNode error = JSON.readTree(refused.body()).path("error");
      assertThat(error.path("type").asText()).isEqualTo("server_overloaded");
      assertThat(error.path("message").asText())
          .isEqualTo("every prefill instance refused the request (2 tried)");
      for (int w = 0; w < 2; w++) {
        assertThat(cluster.workerMetrics.get(w).scrape())
            .as("prefill worker w%d", w)
            .contains("duet_worker_rejections_total{reason=\"ttft_budget\"} 1.0");
      }
      assertThat(cluster.gateway.metrics().scrape()).contains("duet_rejections_total 1.0");

      String a = text(first.get(30, TimeUnit.SECONDS));
      String b = text(second.get(30, TimeUnit.SECONDS));
      String alone = text(post(cluster, LONG).get(30, TimeUnit.SECONDS));
      assertThat(a).isEqualTo(alone).isNotEmpty();
      assertThat(b).isEqualTo(alone);
      assertThat(cluster.awaitBlocksFree())
          .as("KV blocks held anywhere, the refused one's too")
          .isZero();
    }
  }

  private CompletableFuture<HttpResponse<String>> post(TestCluster cluster, String body) {
    return http.sendAsync(
        HttpRequest.newBuilder(cluster.uri("/v1/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Waits until prefill worker {@code w} has run enough passes to know its rate and still has most
   * of a long prompt ahead.
   */
  private static void awaitBusy(TestCluster cluster, int w) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      var load = cluster.load(w);
      if (load.prefillTokensPerS() > 0 && load.pendingPromptTokens() > 512) {
        return;
      }
      Thread.sleep(5);
    }
    throw new AssertionError("prefill worker w" + w + " did not get busy: " + cluster.load(w));
  }

  private static String text(HttpResponse<String> r) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body()).path("choices").path(0).path("text").asText();
  }
}
