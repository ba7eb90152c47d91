package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.sim.LatencyProfile;
import dev.duet.engine.sim.LatencyProfile.Coefficients;
import dev.duet.engine.sim.LatencyProfile.Geometry;
import dev.duet.engine.sim.SimModel;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Scenario groups on a real in-process cluster of emulated-GPU workers: under a policy whose {@code
 * batch} group takes the requests with {@code X-Duet-Scenario: batch}, each request is prefilled
 * and decoded only by its group's workers (counted on the workers' own step loops), answers exactly
 * what one colocated instance answers, falls back to the default group's workers for a role its
 * group has none of (counted in {@code duet_group_fallbacks_total}), and migrates or is recovered
 * only on a worker of its group, even when a default worker has more room.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GroupRoutingTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Passes of about a millisecond; 4 layers of 2 KV heads of 16, BF16: 512 bytes per token. */
  private static final LatencyProfile FAST =
      new LatencyProfile(
          "groups-test",
          new Coefficients(0.5, 0.005, 1e-6),
          new Coefficients(0.5, 0.01, 1e-5),
          new Geometry(4, 4, 2, 16, 64, 128, KvDtype.BF16, 2000, 512));

  private static final String POLICY =
      """
      groups:
        - name: batch
          match:
            header: {name: X-Duet-Scenario, value: batch}
          roles:
            prefill: {min: 0, max: 4}
            decode: {min: 0, max: 4}
      """;

  /** 10 ms decode steps, so that requests are still running when a test moves or breaks one. */
  private static final LatencyProfile SLOW =
      new LatencyProfile(
          "groups-slow-test",
          new Coefficients(2, 0.005, 1e-6),
          new Coefficients(10, 0.01, 1e-5),
          new Geometry(4, 4, 2, 16, 64, 128, KvDtype.BF16, 2000, 1024));

  private static final String LONG_BODY =
      "{\"model\":\"sim\",\"prompt\":\"Once upon a time\",\"max_tokens\":150,"
          + "\"ignore_eos\":true,\"temperature\":0.8,\"seed\":3,\"stream\":true}";

  private static SimModel model;
  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void load() {
    model = SimModel.create(FAST, 1, 1);
  }

  @AfterAll
  static void unload() {
    model.close();
  }

  private record Case(String body, int maxTokens, boolean batch) {}

  private static List<Case> cases(int n) {
    SplittableRandom r = new SplittableRandom(5);
    List<Case> cases = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ObjectNode body = JSON.createObjectNode();
      body.put("model", "sim");
      int[] prompt = new int[2 + r.nextInt(60)];
      for (int j = 0; j < prompt.length; j++) {
        prompt[j] = 3 + r.nextInt(1900);
      }
      body.set("prompt", JSON.valueToTree(prompt));
      int maxTokens = 2 + r.nextInt(16);
      body.put("max_tokens", maxTokens);
      body.put("temperature", i % 3 == 0 ? 0 : 0.9);
      body.put("seed", 40 + i);
      body.put("ignore_eos", true);
      cases.add(new Case(body.toString(), maxTokens, i % 2 == 0));
    }
    return cases;
  }

  private static PolicyStore policy() {
    PolicyStore store = new PolicyStore(Clock.systemUTC());
    assertThat(store.replace(POLICY, "test")).isInstanceOf(PolicyStore.Outcome.Accepted.class);
    return store;
  }

  /** Each case's text, all sent at once; batch cases carry the header. */
  private List<String> answers(TestCluster cluster, List<Case> cases) throws Exception {
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (Case c : cases) {
      HttpRequest.Builder req =
          HttpRequest.newBuilder(cluster.uri("/v1/completions"))
              .POST(HttpRequest.BodyPublishers.ofString(c.body()));
      if (c.batch()) {
        req.header("X-Duet-Scenario", "batch");
      }
      calls.add(http.sendAsync(req.build(), HttpResponse.BodyHandlers.ofString()));
    }
    List<String> texts = new ArrayList<>();
    for (CompletableFuture<HttpResponse<String>> call : calls) {
      HttpResponse<String> resp = call.get();
      assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
      texts.add(JSON.readTree(resp.body()).at("/choices/0/text").asText());
    }
    return texts;
  }

  /** The texts one colocated instance gives, without any group. */
  private List<String> solo(List<Case> cases) throws Exception {
    try (TestCluster one = new TestCluster(model, "sim", List.of("both"), 256, Duration.ZERO)) {
      return answers(one, cases);
    }
  }

  /** First tokens each worker sampled (a prefill worker samples one per request it prefilled). */
  private static long tokens(TestCluster cluster, int worker) throws Exception {
    return cluster.generatedTokens(worker);
  }

  private static long decodeTokens(List<Case> cases, boolean batch) {
    return cases.stream().filter(c -> c.batch() == batch).mapToLong(c -> c.maxTokens() - 1).sum();
  }

  private static long count(List<Case> cases, boolean batch) {
    return cases.stream().filter(c -> c.batch() == batch).count();
  }

  @Test
  void requestsWithAndWithoutTheHeaderRunOnlyOnTheirGroupsWorkersAndAnswerAsOneInstanceDoes()
      throws Exception {
    List<Case> cases = cases(16);
    List<String> texts;
    try (TestCluster cluster =
        new TestCluster(
            model,
            "sim",
            List.of("prefill", "decode", "prefill@batch", "decode@batch"),
            256,
            Duration.ZERO)) {
      cluster.gateway.classifyBy(policy());

      texts = answers(cluster, cases);

      assertThat(tokens(cluster, 0)).as("default prefill").isEqualTo(count(cases, false));
      assertThat(tokens(cluster, 1)).as("default decode").isEqualTo(decodeTokens(cases, false));
      assertThat(tokens(cluster, 2)).as("batch prefill").isEqualTo(count(cases, true));
      assertThat(tokens(cluster, 3)).as("batch decode").isEqualTo(decodeTokens(cases, true));
      assertThat(cluster.gateway.metrics().groupFallbacks("batch")).isZero();
      assertThat(cluster.gateway.metrics().groupFallbacks("default")).isZero();
      HttpResponse<String> instances =
          http.send(
              HttpRequest.newBuilder(cluster.uri("/admin/v1/instances"))
                  .header("authorization", "Bearer " + TestCluster.ADMIN_TOKEN)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      Map<String, String> groups = new HashMap<>();
      for (JsonNode i : JSON.readTree(instances.body()).path("data")) {
        groups.put(i.path("id").asText(), i.path("group").asText());
      }
      assertThat(groups)
          .containsExactlyInAnyOrderEntriesOf(
              Map.of("w0", "default", "w1", "default", "w2", "batch", "w3", "batch"));
    }
    assertThat(texts).isEqualTo(solo(cases));
  }

  @Test
  void aGroupWithoutAPrefillWorkerBorrowsTheDefaultGroupsAndCountsEachFallback() throws Exception {
    List<Case> cases = cases(12);
    List<String> texts;
    try (TestCluster cluster =
        new TestCluster(
            model, "sim", List.of("prefill", "decode", "decode@batch"), 256, Duration.ZERO)) {
      cluster.gateway.classifyBy(policy());

      texts = answers(cluster, cases);

      assertThat(tokens(cluster, 0)).as("default prefill, for both groups").isEqualTo(12);
      assertThat(tokens(cluster, 1)).as("default decode").isEqualTo(decodeTokens(cases, false));
      assertThat(tokens(cluster, 2)).as("batch decode").isEqualTo(decodeTokens(cases, true));
      assertThat(cluster.gateway.metrics().groupFallbacks("batch")).isEqualTo(count(cases, true));
      assertThat(cluster.gateway.metrics().scrape())
          .contains("duet_group_fallbacks_total{group=\"batch\"} " + count(cases, true) + ".0");
      assertThat(cluster.gateway.metrics().groupFallbacks("default")).isZero();
    }
    assertThat(texts).isEqualTo(solo(cases));
  }

  @Test
  void aBatchRequestMigratesToTheOtherBatchDecodeWorkerNotToAFreerDefaultOne() throws Exception {
    try (SimModel slowModel = SimModel.create(SLOW, 1, 1);
        TestCluster cluster =
            new TestCluster(
                slowModel,
                "sim",
                List.of("prefill", "decode", "decode@batch", "decode@batch"),
                64,
                Duration.ZERO)) {
      cluster.gateway.classifyBy(policy());
      String body = LONG_BODY;
      CompletionStream first =
          new CompletionStream(
                  http, cluster.uri("/v1/completions"), body, "X-Duet-Scenario", "batch")
              .read(2);
      CompletionStream second =
          new CompletionStream(
                  http, cluster.uri("/v1/completions"), body, "X-Duet-Scenario", "batch")
              .read(2);
      String busy = cluster.gateway.inFlight().find(first.id).orElseThrow().instance();
      String source = cluster.gateway.inFlight().find(second.id).orElseThrow().instance();
      assertThat(List.of(busy, source)).containsExactlyInAnyOrder("w2", "w3");

      Migrator.Result r =
          cluster
              .gateway
              .migrator()
              .migrate(second.id, null)
              .toCompletionStage()
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);

      assertThat(r.outcome()).as(r.toString()).isEqualTo("migrated");
      assertThat(r.target())
          .as("the default decode worker w1 has more free blocks")
          .isEqualTo(busy);
      assertThat(second.read(Integer.MAX_VALUE).text.toString())
          .isEqualTo(first.read(Integer.MAX_VALUE).text.toString());
      // the two prefills ran on the default group's prefill worker; the move itself fell back not
      assertThat(cluster.gateway.metrics().groupFallbacks("batch")).isEqualTo(2);
    }
  }

  @Test
  void aBatchRequestWhoseWorkerDiesIsRecoveredOnTheOtherBatchWorkerNotOnAnIdleDefaultOne()
      throws Exception {
    try (SimModel slowModel = SimModel.create(SLOW, 1, 1);
        TestCluster cluster =
            new TestCluster(
                slowModel, "sim", List.of("both", "both@batch", "both@batch"), 64, Duration.ZERO)) {
      cluster.gateway.classifyBy(policy());
      String[] batch = {"X-Duet-Scenario", "batch"};
      String expected =
          new CompletionStream(http, cluster.uri("/v1/completions"), LONG_BODY, batch)
              .read(Integer.MAX_VALUE)
              .text
              .toString();
      CompletionStream broken =
          new CompletionStream(http, cluster.uri("/v1/completions"), LONG_BODY, batch).read(3);
      CompletionStream other =
          new CompletionStream(http, cluster.uri("/v1/completions"), LONG_BODY, batch).read(3);
      String dying = cluster.gateway.inFlight().find(broken.id).orElseThrow().instance();
      String survivor = cluster.gateway.inFlight().find(other.id).orElseThrow().instance();
      assertThat(List.of(dying, survivor)).containsExactlyInAnyOrder("w1", "w2");

      cluster.kill(Integer.parseInt(dying.substring(1)));

      assertThat(broken.read(Integer.MAX_VALUE).text.toString()).isEqualTo(expected);
      assertThat(other.read(Integer.MAX_VALUE).text.toString()).isEqualTo(expected);
      assertThat(cluster.gateway.metrics().scrape())
          .contains("duet_recoveries_total{outcome=\"recovered\"} 1.0");
      assertThat(cluster.generatedTokens(0)).as("tokens of the default group's worker").isZero();
      assertThat(cluster.gateway.metrics().groupFallbacks("batch")).isZero();
    }
  }
}
