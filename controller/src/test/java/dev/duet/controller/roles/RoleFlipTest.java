package dev.duet.controller.roles;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.events.ClusterEvent;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.gateway.CompletionStream;
import dev.duet.controller.gateway.TestCluster;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.roles.RoleFlipper.FlipResult;
import dev.duet.engine.sim.SimModel;
import dev.duet.engine.sim.SimProfiles;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Role flips on emulated-GPU workers (passes of ~12 ms, so requests are still running when the flip
 * acts) behind the real controller, on real sockets and real kv-transfer: a decode worker flipped
 * to prefill while streams run on it loses no token of any of them and then prefills; a prefill
 * worker flipped to decode while prompts queue on it drops none and then decodes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RoleFlipTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final SimModel model = SimModel.create(SimProfiles.named("h100-llama3-8b"), 16, 0.5);
  private final HttpClient http = HttpClient.newHttpClient();
  private final ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
  private TestCluster cluster;

  @AfterEach
  void stop() {
    readers.close();
    if (cluster != null) {
      cluster.close();
    }
    model.close();
  }

  private static String body(long seed, int maxTokens, boolean stream) {
    return "{\"model\":\"sim\",\"prompt\":\"Once upon a time there was a dog number "
        + seed
        + "\",\"max_tokens\":"
        + maxTokens
        + ",\"ignore_eos\":true,\"temperature\":0.8,\"seed\":"
        + seed
        + ",\"stream\":"
        + stream
        + "}";
  }

  private CompletionStream stream(String body) throws Exception {
    return new CompletionStream(http, cluster.uri("/v1/completions"), body);
  }

  private HttpResponse<String> complete(String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(cluster.uri("/v1/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static FlipResult await(io.vertx.core.Future<FlipResult> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static void until(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(condition.getAsBoolean()).as(what).isTrue();
  }

  private InstanceRole role(String id) {
    return cluster.registry.find(id).orElseThrow().descriptor().role();
  }

  private List<ClusterEvent> flips() {
    return cluster.events.page(0, 1000).events().stream()
        .filter(e -> e.kind() == EventKind.FLIP)
        .toList();
  }

  @Test
  void aDecodeWorkerFlippedToPrefillWhileStreamsRunOnItLosesNoTokenAndThenPrefills()
      throws Exception {
    cluster =
        new TestCluster(model, "sim", List.of("prefill", "decode", "decode"), 64, Duration.ZERO);
    int n = 4;
    int maxTokens = 100;
    List<CompletableFuture<String>> reference = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      reference.add(stream(body(i, maxTokens, true)).rest(readers));
    }
    List<String> expected = new ArrayList<>();
    for (CompletableFuture<String> f : reference) {
      expected.add(f.get(30, TimeUnit.SECONDS));
    }

    // Every stream on w1: keep w2 out of routing while they start.
    cluster.registry.cordon("w2", true);
    List<CompletionStream> streams = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      streams.add(stream(body(i, maxTokens, true)).read(2));
    }
    cluster.registry.cordon("w2", false);
    assertThat(cluster.load(1).running()).isEqualTo(n);
    List<CompletableFuture<String>> rest = streams.stream().map(st -> st.rest(readers)).toList();

    FlipResult r = await(cluster.flipper.flip("w1", InstanceRole.PREFILL));

    assertThat(r.done()).as(r.detail()).isTrue();
    assertThat(r.from()).isEqualTo(InstanceRole.DECODE);
    assertThat(r.detail()).contains("decode → prefill", "migrated");
    for (int i = 0; i < n; i++) {
      assertThat(rest.get(i).get(30, TimeUnit.SECONDS))
          .as("stream %d", i)
          .isEqualTo(expected.get(i));
    }
    assertThat(role("w1")).isEqualTo(InstanceRole.PREFILL);
    assertThat(cluster.registry.find("w1").orElseThrow().cordoned()).isFalse();
    assertThat(flips()).hasSize(1).first().satisfies(e -> assertThat(e.instance()).isEqualTo("w1"));
    // the decode passes w2 ran reach the controller's registry with its heartbeats (the planner
    // sizes decode from them)
    until(
        "w2 reports its decode pass time",
        () -> cluster.registry.find("w2").orElseThrow().load().decodeStep().known());

    // It now prefills: with w0 cordoned, a new prompt can only be prefilled there.
    cluster.registry.cordon("w0", true);
    long stepsBefore = cluster.load(1).steps();
    HttpResponse<String> after = complete(body(9, 8, false));
    assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
    assertThat(JSON.readTree(after.body()).at("/usage/completion_tokens").asInt()).isEqualTo(8);
    assertThat(cluster.load(1).steps()).isGreaterThan(stepsBefore);
    cluster.registry.cordon("w0", false);
    until("every KV block is free", () -> cluster.usedBlocks() == 0);
  }

  @Test
  void requestsReservedOnADecodeWorkerBeforeItsFlipAreMovedOnceTheyStartNotWaitedOut()
      throws Exception {
    cluster =
        new TestCluster(model, "sim", List.of("prefill", "decode", "decode"), 256, Duration.ZERO);
    // Long prompts queue on the one prefill worker; each has its decode blocks reserved on w1
    // from the start, and begins decoding there only once its prefill is done.
    String longPrompt = "Once upon a time ".repeat(40);
    int n = 3;
    int maxTokens = 150;
    List<String> bodies = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      bodies.add(
          "{\"model\":\"sim\",\"prompt\":\""
              + longPrompt
              + i
              + "\",\"max_tokens\":"
              + maxTokens
              + ",\"ignore_eos\":true,\"temperature\":0.8,\"seed\":"
              + i
              + ",\"stream\":true}");
    }
    List<String> expected = new ArrayList<>();
    for (String b : bodies) {
      expected.add(stream(b).rest(readers).get(60, TimeUnit.SECONDS));
    }
    cluster.registry.cordon("w2", true);
    List<CompletableFuture<String>> rest = new ArrayList<>();
    for (String b : bodies) {
      rest.add(CompletableFuture.supplyAsync(() -> read(b), readers));
    }
    until("a request is reserved on w1", () -> cluster.load(1).reserved() > 0);
    assertThat(cluster.load(1).running()).as("none decodes yet").isZero();
    cluster.registry.cordon("w2", false);

    FlipResult r = await(cluster.flipper.flip("w1", InstanceRole.PREFILL));

    assertThat(r.done()).as(r.detail()).isTrue();
    // moved away as each began decoding, not left to run their 150 tokens out there
    assertThat(r.detail()).as(r.detail()).contains("0 finished there").doesNotContain("of 0 ");
    for (int i = 0; i < n; i++) {
      assertThat(rest.get(i).get(60, TimeUnit.SECONDS))
          .as("stream %d", i)
          .isEqualTo(expected.get(i));
    }
    assertThat(role("w1")).isEqualTo(InstanceRole.PREFILL);
    until("every KV block is free", () -> cluster.usedBlocks() == 0);
  }

  @Test
  void aStreamThatFoundNoTargetIsMovedOnceOneHasRoomNotWaitedOut() throws Exception {
    cluster =
        new TestCluster(model, "sim", List.of("prefill", "decode", "decode"), 64, Duration.ZERO);
    int maxTokens = 400;
    String expected = stream(body(5, maxTokens, true)).rest(readers).get(60, TimeUnit.SECONDS);
    // the stream runs on w1, and w2 takes nothing while the flip's first drain looks for a target
    cluster.registry.cordon("w2", true);
    CompletionStream st = stream(body(5, maxTokens, true)).read(2);
    CompletableFuture<String> rest = st.rest(readers);
    // forced: with w2 cordoned, w1 is the last decode instance the flip check sees
    var flip = cluster.flipper.flip("w1", InstanceRole.PREFILL, true);
    Thread.sleep(300);
    assertThat(cluster.load(1).running()).as("no target yet: it still runs on w1").isEqualTo(1);
    cluster.registry.cordon("w2", false);

    FlipResult r = await(flip);

    assertThat(r.done()).as(r.detail()).isTrue();
    // drained again once w2 took requests, not left to run its 400 tokens out on w1
    assertThat(r.detail()).as(r.detail()).contains("migrated 1 of 1", "0 finished there");
    assertThat(rest.get(60, TimeUnit.SECONDS)).isEqualTo(expected);
    assertThat(role("w1")).isEqualTo(InstanceRole.PREFILL);
    until("every KV block is free", () -> cluster.usedBlocks() == 0);
  }

  private String read(String body) {
    try {
      return stream(body).rest(readers).get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aPrefillWorkerFlippedToDecodeWhilePromptsQueueOnItDropsNoneAndThenDecodes()
      throws Exception {
    cluster =
        new TestCluster(model, "sim", List.of("prefill", "prefill", "decode"), 256, Duration.ZERO);
    // Long prompts: ~64 tokens a pass, so each takes several passes and the rest queue on w0.
    String longPrompt = "Once upon a time ".repeat(30);
    cluster.registry.cordon("w1", true);
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    int n = 6;
    for (int i = 0; i < n; i++) {
      String b =
          "{\"model\":\"sim\",\"prompt\":\""
              + longPrompt
              + i
              + "\",\"max_tokens\":6,\"ignore_eos\":true,\"temperature\":0}";
      answers.add(
          http.sendAsync(
              HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString(b))
                  .build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    until(
        "the prompts queue on w0",
        () -> cluster.load(0).queued() + cluster.load(0).running() >= n / 2);
    cluster.registry.cordon("w1", false);

    FlipResult r = await(cluster.flipper.flip("w0", InstanceRole.DECODE));

    assertThat(r.done()).as(r.detail()).isTrue();
    assertThat(r.detail()).contains("prefill → decode", "waited");
    for (CompletableFuture<HttpResponse<String>> a : answers) {
      HttpResponse<String> resp = a.get(30, TimeUnit.SECONDS);
      assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
      assertThat(JSON.readTree(resp.body()).at("/usage/completion_tokens").asInt()).isEqualTo(6);
    }
    assertThat(role("w0")).isEqualTo(InstanceRole.DECODE);

    // It now decodes: with w2 cordoned, a new request can only decode there.
    cluster.registry.cordon("w2", true);
    long tokensBefore = cluster.generatedTokens(0);
    HttpResponse<String> after = complete(body(3, 12, false));
    assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
    assertThat(cluster.generatedTokens(0) - tokensBefore).isEqualTo(11); // all but the first
    until("every KV block is free", () -> cluster.usedBlocks() == 0);
  }
}
