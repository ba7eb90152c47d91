package dev.duet.controller.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.gateway.TestCluster;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.ApiException;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.synth.SyntheticHfWriter;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.tensor.ComputePool;
import io.vertx.core.Future;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator API over real HTTP on a controller with two role-both workers: auth, the views,
 * cordons that routing honours, events, the OpenAPI document, and 501 for features not plugged in.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminApiTest {

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
    cluster = new TestCluster(model, "qwen-tiny", 2, 64, Duration.ZERO);
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
    model.close();
    pool.close();
  }

  private static HttpResponse<String> call(String method, String path, String auth, String body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(cluster.uri(path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (auth != null) {
      b.header("Authorization", auth);
    }
    if (body != null) {
      b.header("content-type", "application/json");
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode ok(String method, String path) throws Exception {
    HttpResponse<String> r = call(method, path, BEARER, null);
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    return JSON.readTree(r.body());
  }

  private static HttpResponse<String> complete(int maxTokens) throws Exception {
    return call(
        "POST",
        "/v1/completions",
        null,
        "{\"model\":\"qwen-tiny\",\"prompt\":\"the cat\",\"max_tokens\":"
            + maxTokens
            + ",\"temperature\":0,\"ignore_eos\":true}");
  }

  @Test
  void withoutATokenItIs401WithABearerChallengeAndWithAWrongOne403() throws Exception {
    for (String path :
        List.of(
            "/admin/v1/cluster", "/admin/v1/openapi.json", "/admin/v1/planner", "/admin/v1/x")) {
      HttpResponse<String> none = call("GET", path, null, null);
      assertThat(none.statusCode()).as(path).isEqualTo(401);
      assertThat(none.headers().firstValue("www-authenticate"))
          .get()
          .asString()
          .startsWith("Bearer");
      assertThat(JSON.readTree(none.body()).at("/error/code").asText()).isEqualTo("missing_token");
      assertThat(call("GET", path, "Basic dXNlcjpwYXNz", null).statusCode()).isEqualTo(401);
      HttpResponse<String> wrong = call("GET", path, "Bearer not-the-token-at-all", null);
      assertThat(wrong.statusCode()).as(path).isEqualTo(403);
      assertThat(JSON.readTree(wrong.body()).at("/error/type").asText())
          .isEqualTo("permission_error");
    }
    assertThat(call("GET", "/admin/v1/cluster", BEARER, null).statusCode()).isEqualTo(200);
  }

  @Test
  void unknownPathsAre404AndWrongMethods405WithAllow() throws Exception {
    assertThat(call("GET", "/admin/v1/nothing", BEARER, null).statusCode()).isEqualTo(404);
    HttpResponse<String> r = call("GET", "/admin/v1/instances/w0/cordon", BEARER, null);
    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(r.headers().firstValue("allow")).hasValue("POST");
  }

  @Test
  void theClusterSummaryCountsInstancesByRoleAndStateAndTheirKv() throws Exception {
    JsonNode c = ok("GET", "/admin/v1/cluster");
    assertThat(c.at("/instances/total").asInt()).isEqualTo(2);
    assertThat(c.at("/instances/by_state/alive").asInt()).isEqualTo(2);
    assertThat(c.at("/instances/by_role/both/alive").asInt()).isEqualTo(2);
    assertThat(c.at("/instances/by_role/decode/alive").asInt()).isZero();
    assertThat(c.at("/totals/kv_blocks").asLong()).isEqualTo(128);
    assertThat(c.at("/totals/free_kv_blocks").asLong() + c.at("/totals/used_kv_blocks").asLong())
        .isEqualTo(128);
    assertThat(c.at("/rates/arrivals_per_s").isNumber()).isTrue();
    assertThat(c.at("/last_event_id").asLong()).isGreaterThanOrEqualTo(2); // the two joins
    assertThat(c.path("groups").fieldNames()).toIterable().containsExactly("default");
    assertThat(c.at("/groups/default")).isEqualTo(c.path("instances"));
  }

  @Test
  void theClusterSummaryCountsEachGroupsInstancesByRoleAndState() throws Exception {
    try (TestCluster grouped =
        new TestCluster(
            model,
            "qwen-tiny",
            List.of("prefill@chat", "decode@chat", "decode@chat", "both"),
            64,
            Duration.ZERO)) {
      HttpResponse<String> cordon =
          http.send(
              HttpRequest.newBuilder(grouped.uri("/admin/v1/instances/w2/cordon"))
                  .header("Authorization", BEARER)
                  .POST(HttpRequest.BodyPublishers.noBody())
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(cordon.statusCode()).as(cordon.body()).isEqualTo(200);
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(grouped.uri("/admin/v1/cluster"))
                  .header("Authorization", BEARER)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode c = JSON.readTree(r.body());

      assertThat(c.at("/instances/total").asInt()).isEqualTo(4);
      assertThat(c.path("groups").fieldNames()).toIterable().containsExactly("chat", "default");
      JsonNode chat = c.at("/groups/chat");
      assertThat(chat.path("total").asInt()).isEqualTo(3);
      assertThat(chat.at("/by_state/alive").asInt()).isEqualTo(2);
      assertThat(chat.at("/by_state/cordoned").asInt()).isEqualTo(1);
      assertThat(chat.at("/by_role/prefill/alive").asInt()).isEqualTo(1);
      assertThat(chat.at("/by_role/decode/alive").asInt()).isEqualTo(1);
      assertThat(chat.at("/by_role/decode/cordoned").asInt()).isEqualTo(1);
      assertThat(chat.at("/by_role/both/alive").asInt()).isZero();
      JsonNode other = c.at("/groups/default");
      assertThat(other.path("total").asInt()).isEqualTo(1);
      assertThat(other.at("/by_state/alive").asInt()).isEqualTo(1);
      assertThat(other.at("/by_role/both/alive").asInt()).isEqualTo(1);
      assertThat(other.at("/by_role/prefill/alive").asInt()).isZero();
      assertThat(other.at("/by_role/decode/alive").asInt()).isZero();
    }
  }

  @Test
  void aStreamingRequestCountsInFlightUntilItsClientHangsUp() throws Exception {
    String body =
        "{\"model\":\"qwen-tiny\",\"prompt\":\"the\",\"max_tokens\":200,\"stream\":true,"
            + "\"ignore_eos\":true}";
    try (Socket s = new Socket("127.0.0.1", cluster.port)) {
      s.getOutputStream()
          .write(
              ("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + "Content-Length: "
                      + body.length()
                      + "\r\n\r\n"
                      + body)
                  .getBytes(StandardCharsets.UTF_8));
      BufferedReader in =
          new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null && !line.startsWith("data: {")) {
        // headers, until the first event
      }
      assertThat(ok("GET", "/admin/v1/cluster").at("/requests/in_flight").asInt()).isEqualTo(1);
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> ok("GET", "/admin/v1/cluster").at("/requests/in_flight").asInt() == 0);
  }

  @Test
  void instancesShowRoleStateLoadCapacityEndpointAndHeartbeatAge() throws Exception {
    JsonNode list = ok("GET", "/admin/v1/instances");
    assertThat(list.path("object").asText()).isEqualTo("list");
    List<String> ids = new ArrayList<>();
    list.path("data").forEach(i -> ids.add(i.path("id").asText()));
    assertThat(ids).containsExactlyInAnyOrder("w0", "w1");
    JsonNode w0 = ok("GET", "/admin/v1/instances/w0");
    assertThat(w0.path("role").asText()).isEqualTo("both");
    assertThat(w0.path("state").asText()).isIn("alive", "cordoned");
    assertThat(w0.path("endpoint").asText()).startsWith("http://127.0.0.1:");
    assertThat(w0.path("model").asText()).isEqualTo("qwen-tiny");
    assertThat(w0.path("last_heartbeat_age_ms").asLong()).isBetween(0L, 3000L);
    assertThat(w0.at("/capacity/kv_blocks").asInt()).isEqualTo(64);
    assertThat(w0.at("/capacity/block_size").asInt()).isEqualTo(16);
    assertThat(w0.at("/capacity/kv_tokens").asInt()).isEqualTo(1024);
    assertThat(w0.at("/capacity/max_batch").asInt()).isEqualTo(8);
    assertThat(w0.at("/load/free_kv_blocks").isInt()).isTrue();
    HttpResponse<String> ghost = call("GET", "/admin/v1/instances/ghost", BEARER, null);
    assertThat(ghost.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(ghost.body()).at("/error/code").asText())
        .isEqualTo("instance_not_found");
    assertThat(call("POST", "/admin/v1/instances/ghost/cordon", BEARER, null).statusCode())
        .isEqualTo(404);
  }

  @Test
  void aCordonedInstanceGetsNoCompletionUntilItIsUncordoned() throws Exception {
    try {
      JsonNode cordoned = ok("POST", "/admin/v1/instances/w0/cordon");
      assertThat(cordoned.path("state").asText()).isEqualTo("cordoned");
      assertThat(ok("GET", "/admin/v1/cluster").at("/instances/by_state/cordoned").asInt())
          .isEqualTo(1);
      long w0 = cluster.generatedTokens(0);
      long w1 = cluster.generatedTokens(1);
      for (int i = 0; i < 3; i++) {
        assertThat(complete(3).statusCode()).isEqualTo(200);
      }
      assertThat(cluster.generatedTokens(0)).as("the cordoned worker").isEqualTo(w0);
      assertThat(cluster.generatedTokens(1)).isGreaterThan(w1);
    } finally {
      ok("POST", "/admin/v1/instances/w0/uncordon");
    }
    long w0 = cluster.generatedTokens(0);
    for (int i = 0; i < 3; i++) {
      assertThat(complete(3).statusCode()).isEqualTo(200);
    }
    assertThat(cluster.generatedTokens(0)).as("uncordoned, it serves again").isGreaterThan(w0);
  }

  @Test
  void whenEveryInstanceIsCordonedARequestIs503AndARejectionEvent() throws Exception {
    long before = cluster.events.lastId();
    try {
      ok("POST", "/admin/v1/instances/w0/cordon");
      ok("POST", "/admin/v1/instances/w1/cordon");
      HttpResponse<String> r = complete(2);
      assertThat(r.statusCode()).isEqualTo(503);
      JsonNode page = ok("GET", "/admin/v1/events?after=" + before + "&limit=10");
      List<String> kinds = new ArrayList<>();
      page.path("data").forEach(e -> kinds.add(e.path("kind").asText()));
      assertThat(kinds).containsExactly("cordon", "cordon", "rejection");
      JsonNode rejection = page.path("data").get(2);
      assertThat(rejection.path("request").asText()).startsWith("cmpl-");
      assertThat(rejection.path("detail").asText()).contains("no instance");
      assertThat(page.at("/data/0/instance").asText()).isEqualTo("w0");
      assertThat(page.at("/data/0/detail").asText()).isEqualTo("cordoned");
    } finally {
      ok("POST", "/admin/v1/instances/w0/uncordon");
      ok("POST", "/admin/v1/instances/w1/uncordon");
    }
  }

  @Test
  void eventsPageThroughTheLogWithTheNextCursor() throws Exception {
    ok("POST", "/admin/v1/instances/w1/cordon");
    ok("POST", "/admin/v1/instances/w1/uncordon");
    JsonNode all = ok("GET", "/admin/v1/events?limit=1000");
    assertThat(all.path("has_more").asBoolean()).isFalse();
    List<Long> expected = new ArrayList<>();
    all.path("data").forEach(e -> expected.add(e.path("id").asLong()));
    assertThat(expected).hasSizeGreaterThanOrEqualTo(4).startsWith(1L, 2L);
    assertThat(all.at("/data/0/kind").asText()).isEqualTo("instance_joined");
    assertThat(all.at("/data/0/time").asText()).endsWith("Z");
    List<Long> paged = new ArrayList<>();
    long after = 0;
    boolean more = true;
    while (more) {
      JsonNode p = ok("GET", "/admin/v1/events?after=" + after + "&limit=2");
      assertThat(p.path("data").size()).isBetween(1, 2);
      p.path("data").forEach(e -> paged.add(e.path("id").asLong()));
      after = p.path("next").asLong();
      more = p.path("has_more").asBoolean();
    }
    assertThat(paged).startsWith(expected.toArray(Long[]::new));
    for (String bad : List.of("limit=0", "limit=1001", "after=-1", "after=abc")) {
      HttpResponse<String> r = call("GET", "/admin/v1/events?" + bad, BEARER, null);
      assertThat(r.statusCode()).as(bad).isEqualTo(400);
      assertThat(JSON.readTree(r.body()).at("/error/param").asText())
          .isEqualTo(bad.substring(0, bad.indexOf('=')));
    }
  }

  @Test
  void theOpenApiDocumentIsServed() throws Exception {
    JsonNode doc = ok("GET", "/admin/v1/openapi.json");
    assertThat(doc.path("openapi").asText()).isEqualTo("3.1.0");
    assertThat(doc.path("paths").has("/admin/v1/instances/{id}/cordon")).isTrue();
  }

  @Test
  void featuresNotPluggedInAnswer501NamingTheFeature() throws Exception {
    for (AdminFeature f : AdminFeature.values()) {
      if (f == AdminFeature.ROLE
          || f == AdminFeature.MIGRATE
          || f == AdminFeature.DRAIN
          || f == AdminFeature.POLICY_GET
          || f == AdminFeature.HISTORY) {
        continue; // plugged in by the test cluster (migration, role flips, history) or a test
      }
      String path = f.path().replace("{id}", f == AdminFeature.MIGRATE ? "cmpl-abc" : "w0");
      HttpResponse<String> r = call(f.method().name(), path, BEARER, "{}");
      assertThat(r.statusCode()).as(f.toString()).isEqualTo(501);
      JsonNode e = JSON.readTree(r.body()).path("error");
      assertThat(e.path("type").asText()).isEqualTo("not_implemented_error");
      assertThat(e.path("code").asText()).isEqualTo("feature_not_available");
      assertThat(e.path("message").asText()).contains(f.what() + " is not available yet");
    }
  }

  @Test
  void aRegisteredHandlerAnswersWithItsReplyOrItsError() throws Exception {
    // Reading the policy stands for any pluggable feature (the test cluster plugs in the others).
    cluster.admin.register(
        AdminFeature.POLICY_GET,
        c -> {
          String mode = c.query().getOrDefault("mode", "");
          if (!mode.equals("tidal") && !mode.equals("static")) {
            throw new ApiException(ApiError.invalid("mode", "tidal or static, got " + mode));
          }
          return Future.succeededFuture(
              AdminReply.accepted(
                  JSON.createObjectNode().put("mode", mode).put("dry_run", c.flag("dryRun"))));
        });
    HttpResponse<String> r = call("GET", "/admin/v1/policy?mode=tidal&dryRun=true", BEARER, null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    JsonNode j = JSON.readTree(r.body());
    assertThat(j.path("mode").asText()).isEqualTo("tidal");
    assertThat(j.path("dry_run").asBoolean()).isTrue();
    HttpResponse<String> bad = call("GET", "/admin/v1/policy?mode=chef", BEARER, null);
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(bad.body()).at("/error/param").asText()).isEqualTo("mode");
    assertThat(call("GET", "/admin/v1/policy?mode=tidal&dryRun=maybe", BEARER, null).statusCode())
        .isEqualTo(400);
    assertThatThrownBy(
            () ->
                cluster.admin.register(
                    AdminFeature.POLICY_GET, c -> Future.failedFuture("a second handler")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("/admin/v1/policy");
  }

  @Test
  void aBodyOverTheLimitIs413WhetherOrNotItDeclaresItsLength() throws Exception {
    byte[] big = new byte[AdminApi.MAX_BODY_BYTES + 1];
    java.util.Arrays.fill(big, (byte) 'x');
    HttpResponse<String> declared =
        http.send(
            HttpRequest.newBuilder(cluster.uri("/admin/v1/policy"))
                .header("Authorization", BEARER)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(big))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(declared.statusCode()).isEqualTo(413);
    HttpResponse<String> chunked =
        http.send(
            HttpRequest.newBuilder(cluster.uri("/admin/v1/policy"))
                .header("Authorization", BEARER)
                .PUT(
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new java.io.ByteArrayInputStream(big)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(chunked.statusCode()).isEqualTo(413);
    assertThat(JSON.readTree(chunked.body()).at("/error/code").asText())
        .isEqualTo("request_too_large");
    assertThat(call("GET", "/admin/v1/cluster", BEARER, null).statusCode()).isEqualTo(200);
  }
}
