package dev.duet.controller.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.gateway.TestCluster;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.synth.SyntheticHfWriter;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.tensor.ComputePool;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller serves the dashboard's files at {@code /ui} and the history behind its charts at
 * {@code /admin/v1/history}, over real HTTP with real workers. (The page itself runs in Chromium in
 * {@code DashboardIT}.)
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DashboardServingTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String BEARER = "Bearer " + TestCluster.ADMIN_TOKEN;

  @TempDir static Path dir;
  static ComputePool pool;
  static LlamaModel model;
  static TestCluster cluster;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    Path hf = dir.resolve("qwen");
    SyntheticHfWriter.write(
        SyntheticModel.preset("qwen-tiny"), 5, GgmlType.F32, hf, Long.MAX_VALUE);
    pool = new ComputePool(2);
    model = LlamaModel.load(hf, pool);
    cluster =
        new TestCluster(model, "qwen-tiny", List.of("prefill", "decode"), 64, Duration.ZERO)
            .startHistory();
  }

  @AfterAll
  static void stop() {
    cluster.close();
    model.close();
    pool.close();
  }

  private static HttpResponse<String> send(String method, String path, String auth)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(cluster.uri(path))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (auth != null) {
      b.header("Authorization", auth);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void thePageItsScriptsAndStyleAreServedWithoutATokenUnderAStrictContentSecurityPolicy()
      throws Exception {
    for (String path : List.of("/ui", "/ui/")) {
      HttpResponse<String> page = send("GET", path, null);
      assertThat(page.statusCode()).as(path).isEqualTo(200);
      assertThat(page.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
      assertThat(page.body()).contains("<script type=\"module\" src=\"/ui/dashboard.js\">");
      assertThat(page.headers().firstValue("content-security-policy"))
          .get()
          .asString()
          .contains("script-src 'self'")
          .contains("connect-src 'self'");
    }
    HttpResponse<String> js = send("GET", "/ui/dashboard.js", null);
    assertThat(js.headers().firstValue("content-type")).hasValue("text/javascript; charset=utf-8");
    assertThat(js.body()).contains("/admin/v1");
    assertThat(send("GET", "/ui/charts.js", null).body()).contains("export function lineChart");
    assertThat(send("GET", "/ui/dashboard.css", null).headers().firstValue("content-type"))
        .hasValue("text/css; charset=utf-8");
  }

  @Test
  void onlyTheDashboardsOwnFilesAreServedAndOnlyToGetAndHead() throws Exception {
    assertThat(send("GET", "/ui/index.html.bak", null).statusCode()).isEqualTo(404);
    assertThat(send("GET", "/ui/DashboardAssets.class", null).statusCode()).isEqualTo(404);
    assertThat(send("GET", "/ui/%2e%2e/admin/openapi.json", null).statusCode()).isEqualTo(404);
    HttpResponse<String> post = send("POST", "/ui", null);
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("allow")).hasValue("GET, HEAD");
    HttpResponse<String> head = send("HEAD", "/ui/dashboard.css", null);
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
  }

  @Test
  void theHistoryNeedsTheTokenAndRefusesABadSince() throws Exception {
    assertThat(send("GET", "/admin/v1/history", null).statusCode()).isEqualTo(401);
    HttpResponse<String> bad = send("GET", "/admin/v1/history?since=yesterday", BEARER);
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(bad.body()).at("/error/param").asText()).isEqualTo("since");
  }

  @Test
  void theHistoryShowsTheRolesTheRatioAndTheLatenciesOfFinishedRequests() throws Exception {
    HttpResponse<String> done =
        http.send(
            HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                .header("content-type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"qwen-tiny\",\"prompt\":\"the cat\",\"max_tokens\":6,"
                            + "\"temperature\":0,\"ignore_eos\":true}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);

    JsonNode withLatency =
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () -> {
                  JsonNode h = JSON.readTree(send("GET", "/admin/v1/history", BEARER).body());
                  for (JsonNode s : h.path("data")) {
                    if (s.at("/ttft_ms/count").asLong() > 0) {
                      return s;
                    }
                  }
                  return null;
                },
                s -> s != null);
    assertThat(withLatency.at("/instances/prefill").asInt()).isEqualTo(1);
    assertThat(withLatency.at("/instances/decode").asInt()).isEqualTo(1);
    assertThat(withLatency.path("pd_ratio").asDouble()).isEqualTo(1.0);
    assertThat(withLatency.at("/ttft_ms/p50").asDouble()).isPositive();
    assertThat(withLatency.at("/tpot_ms/count").asLong()).isEqualTo(1);
    assertThat(withLatency.at("/slo/ttft_ms").asDouble()).isEqualTo(2000.0);
    assertThat(withLatency.path("forecast_arrivals_per_s").isNull()).isTrue();

    JsonNode all = JSON.readTree(send("GET", "/admin/v1/history", BEARER).body());
    assertThat(all.path("interval_ms").asLong()).isEqualTo(TestCluster.HISTORY_INTERVAL.toMillis());
    long next = all.path("next_since").asLong();
    JsonNode newer = JSON.readTree(send("GET", "/admin/v1/history?since=" + next, BEARER).body());
    for (JsonNode s : newer.path("data")) {
      assertThat(s.path("time_ms").asLong()).isGreaterThan(next);
    }
  }
}
