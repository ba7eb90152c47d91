package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A prefill worker that dies before handing a request over: the controller offers the prompt to the
 * next prefill worker (the decode reservation stays), and the client gets exactly the answer it
 * would have had.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PrefillFailureTest {

  /** Prefill passes of 800 ms, so a prompt is still being prefilled when its worker dies. */
  private static final LatencyProfile SLOW_PREFILL =
      new LatencyProfile(
          "slow-prefill",
          new Coefficients(800, 0.005, 1e-6),
          new Coefficients(5, 0.01, 1e-5),
          new Geometry(4, 4, 2, 16, 64, 128, KvDtype.BF16, 2000, 1024));

  private static final String BODY =
      "{\"model\":\"sim\",\"prompt\":\"Once upon a time\",\"max_tokens\":40,\"ignore_eos\":true,"
          + "\"temperature\":0.9,\"seed\":4}";

  @Test
  void aPrefillWorkerDyingBeforeTheHandoffIsReplacedByTheNextOne() throws Exception {
    ObjectMapper json = new ObjectMapper();
    HttpClient http = HttpClient.newHttpClient();
    try (SimModel model = SimModel.create(SLOW_PREFILL, 1, 1);
        TestCluster cluster =
            new TestCluster(
                model, "sim", List.of("prefill", "prefill", "decode"), 64, Duration.ZERO)) {
      HttpRequest req =
          HttpRequest.newBuilder(cluster.uri("/v1/completions"))
              .POST(HttpRequest.BodyPublishers.ofString(BODY))
              .build();
      String expected =
          json.readTree(http.send(req, HttpResponse.BodyHandlers.ofString()).body())
              .at("/choices/0/text")
              .asText();
      CompletableFuture<HttpResponse<String>> answer =
          http.sendAsync(req, HttpResponse.BodyHandlers.ofString());
      int prefilling = -1;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (prefilling < 0 && System.nanoTime() < deadline) {
        for (int i = 0; i < 2; i++) {
          if (cluster.loops.get(i).load().running() + cluster.loops.get(i).load().queued() > 0) {
            prefilling = i;
          }
        }
        Thread.sleep(10);
      }
      assertThat(prefilling).as("a prefill worker took the prompt").isNotNegative();
      cluster.kill(prefilling);
      HttpResponse<String> r = answer.get(30, TimeUnit.SECONDS);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(json.readTree(r.body()).at("/choices/0/text").asText()).isEqualTo(expected);
      assertThat(cluster.loops.get(1 - prefilling).load().steps()).isPositive();
    }
  }
}
