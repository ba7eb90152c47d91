package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.policy.Policy;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.sim.LatencyProfile;
import dev.duet.engine.sim.LatencyProfile.Coefficients;
import dev.duet.engine.sim.LatencyProfile.Geometry;
import dev.duet.engine.sim.SimModel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Load piled on one decode worker (the other cordoned while the streams start) is spread by the
 * rebalancer, or moved off by a drain through the operator API, while the streams run: every stream
 * ends with exactly the text it has when nothing moves (so no token was lost, repeated or
 * reordered), and every KV block is free at the end.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RebalanceAndDrainTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int STREAMS = 6;

  /** 10 ms decode steps; 512 bytes of K/V per token. */
  private static final LatencyProfile PROFILE =
      new LatencyProfile(
          "rebalance-test",
          new Coefficients(2, 0.005, 1e-6),
          new Coefficients(10, 0.01, 1e-5),
          new Geometry(4, 4, 2, 16, 64, 128, KvDtype.BF16, 2000, 1024));

  private final HttpClient http = HttpClient.newHttpClient();

  private static String body(int i) {
    return "{\"model\":\"sim\",\"prompt\":\"Story number "
        + i
        + "\",\"max_tokens\":200,\"ignore_eos\":true,\"temperature\":0.7,\"seed\":"
        + (100 + i)
        + ",\"stream\":true}";
  }

  /** Runs the streams at once and returns their texts. */
  private List<String> run(TestCluster cluster, Runnable whileRunning) throws Exception {
    List<CompletableFuture<String>> texts = new ArrayList<>();
    List<BufferedReader> readers = new ArrayList<>();
    for (int i = 0; i < STREAMS; i++) {
      HttpResponse<java.io.InputStream> r =
          http.send(
              HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString(body(i)))
                  .build(),
              HttpResponse.BodyHandlers.ofInputStream());
      assertThat(r.statusCode()).isEqualTo(200);
      readers.add(new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8)));
    }
    for (BufferedReader in : readers) {
      texts.add(CompletableFuture.supplyAsync(() -> read(in)));
    }
    whileRunning.run();
    List<String> out = new ArrayList<>();
    for (CompletableFuture<String> t : texts) {
      out.add(t.get(60, TimeUnit.SECONDS));
    }
    return out;
  }

  private static String read(BufferedReader in) {
    try {
      StringBuilder b = new StringBuilder();
      for (String l = in.readLine(); l != null; l = in.readLine()) {
        if (l.startsWith("data: {")) {
          JsonNode c = JSON.readTree(l.substring(6));
          if (c.has("error")) {
            throw new AssertionError("stream failed: " + l);
          }
          b.append(c.at("/choices/0/text").asText(""));
        }
      }
      return b.toString();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static int migrated(TestCluster cluster) {
    String m = cluster.gateway.metrics().scrape();
    for (String line : m.split("\n")) {
      if (line.startsWith("duet_migrations_total{outcome=\"migrated\"}")) {
        return (int) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void theRebalancerSpreadsPiledUpStreamsWithoutChangingAToken() throws Exception {
    try (SimModel model = SimModel.create(PROFILE, 1, 1);
        TestCluster cluster =
            new TestCluster(
                model, "sim", List.of("prefill", "decode", "decode"), 200, Duration.ZERO)) {
      List<String> expected = run(cluster, () -> {});
      assertThat(cluster.awaitBlocksFree()).isZero();

      cluster.registry.cordon("w2", true);
      // Freeness of w1 with six 13-block requests: (200 - 78) / 6 ≈ 20 < 30; an idle w2: 200.
      Rebalancer rebalancer =
          new Rebalancer(
              cluster.registry, cluster.gateway, () -> new Policy.Rebalancer(true, 200, 60, 30, 2));
      List<String> got =
          run(
              cluster,
              () -> {
                sleep(300);
                cluster.registry.cordon("w2", false);
                rebalancer.start(cluster.vertx);
              });
      assertThat(got).isEqualTo(expected);
      assertThat(migrated(cluster)).as("migrations by the rebalancer").isPositive();
      assertThat(cluster.awaitBlocksFree()).isZero();
    }
  }

  @Test
  void drainingAnInstanceMovesEveryStreamAwayWithoutChangingAToken() throws Exception {
    try (SimModel model = SimModel.create(PROFILE, 1, 1);
        TestCluster cluster =
            new TestCluster(
                model, "sim", List.of("prefill", "decode", "decode"), 200, Duration.ZERO)) {
      List<String> expected = run(cluster, () -> {});
      assertThat(cluster.awaitBlocksFree()).isZero();
      JsonNode drained = drainWhileRunning(cluster, expected, "w2");
      assertThat(cluster.events.page(0, 1000).toString()).contains("DRAIN");
      assertThat(drained.findValuesAsText("target")).containsOnly("w2");
    }
  }

  @Test
  void aDrainSpreadsItsStreamsOverTheTargetsInsteadOfPilingThemOnTheFreest() throws Exception {
    try (SimModel model = SimModel.create(PROFILE, 1, 1);
        TestCluster cluster =
            new TestCluster(
                model,
                "sim",
                List.of("prefill", "decode", "decode", "decode"),
                200,
                Duration.ZERO)) {
      List<String> expected = run(cluster, () -> {});
      assertThat(cluster.awaitBlocksFree()).isZero();
      // all six start within one load report of w2 and w3, which read equally free: by reported
      // free blocks alone every one would go to the same instance
      JsonNode drained = drainWhileRunning(cluster, expected, "w2", "w3");
      List<String> targets = drained.findValuesAsText("target");
      assertThat(targets).hasSize(STREAMS);
      assertThat(targets.stream().filter("w2"::equals).count()).as("%s", targets).isBetween(2L, 4L);
    }
  }

  /**
   * Runs the streams on w1 ({@code others} cordoned while they start), drains w1 through the
   * operator API, checks every text and that every stream moved; returns the drain's answer.
   */
  private JsonNode drainWhileRunning(TestCluster cluster, List<String> expected, String... others)
      throws Exception {
    for (String o : others) {
      cluster.registry.cordon(o, true);
    }
    JsonNode[] drained = {null};
    List<String> got =
        run(
            cluster,
            () -> {
              sleep(300);
              for (String o : others) {
                cluster.registry.cordon(o, false);
              }
              try {
                HttpResponse<String> r =
                    http.send(
                        HttpRequest.newBuilder(cluster.uri("/admin/v1/instances/w1/drain"))
                            .header("authorization", "Bearer " + TestCluster.ADMIN_TOKEN)
                            .POST(HttpRequest.BodyPublishers.noBody())
                            .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                drained[0] = JSON.readTree(r.body());
              } catch (Exception e) {
                throw new AssertionError(e);
              }
            });
    assertThat(got).isEqualTo(expected);
    assertThat(drained[0].path("migrated").asInt()).as(drained[0].toString()).isEqualTo(STREAMS);
    assertThat(cluster.registry.find("w1").orElseThrow().cordoned()).isTrue();
    assertThat(cluster.awaitBlocksFree()).isZero();
    return drained[0];
  }
}
