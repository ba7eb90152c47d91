package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.tidal.Planners;
import dev.duet.engine.sim.SimModel;
import dev.duet.engine.sim.SimProfiles;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A request that arrives while the decode instance's KV is full waits for room (up to its TTFT
 * budget) instead of getting a 503 at once: one emulated decode instance whose KV holds one request
 * at a time, two requests sent together.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RoomWaitTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Emulated H100 passes at a fifth of their speed: a decode step takes ~30 ms. */
  private static final SimModel MODEL =
      SimModel.create(SimProfiles.named("h100-llama3-8b"), 64, 0.2);

  /** 4 blocks of 16 tokens: a request of a few prompt and 40 output tokens takes 3. */
  private static final int KV_BLOCKS = 4;

  private final HttpClient http = HttpClient.newHttpClient();

  @AfterAll
  static void closeModel() {
    MODEL.close();
  }

  private CompletableFuture<HttpResponse<String>> send(TestCluster cluster, int maxTokens) {
    String body =
        "{\"model\":\"sim\",\"prompt\":\"one two three\",\"max_tokens\":"
            + maxTokens
            + ",\"ignore_eos\":true,\"temperature\":0}";
    return http.sendAsync(
        HttpRequest.newBuilder(cluster.uri("/v1/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aRequestWithoutKvRoomWaitsForTheRunningOneToFinishAndGetsTheSameTokens() throws Exception {
    try (TestCluster cluster =
        new TestCluster(
            MODEL, "sim", List.of("prefill", "decode"), KV_BLOCKS, Duration.ofSeconds(30))) {
      var heardWaitNanos = new java.util.concurrent.atomic.AtomicLong();
      cluster
          .gateway
          .metrics()
          .listen(
              new RequestListener() {
                @Override
                public void waitedForRoom(String id, long waitNanos) {
                  heardWaitNanos.addAndGet(waitNanos);
                }
              });
      CompletableFuture<HttpResponse<String>> first = fillTheDecodeInstance(cluster);
      long sent = System.nanoTime();
      HttpResponse<String> second = send(cluster, 40).get(30, TimeUnit.SECONDS);
      long waitedMs = (System.nanoTime() - sent) / 1_000_000;
      // the planner hears the wait (its prefill correction leaves it out of the TTFT)
      assertThat(heardWaitNanos.get() / 1_000_000).isBetween(waitedMs / 2, waitedMs);

      assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
      JsonNode a = JSON.readTree(first.get().body());
      JsonNode b = JSON.readTree(second.body());
      assertThat(b.at("/choices/0/text").asText()).isEqualTo(a.at("/choices/0/text").asText());
      assertThat(b.at("/usage/completion_tokens").asInt()).isEqualTo(40);
      String metrics = cluster.gateway.metrics().scrape();
      assertThat(metrics).contains("duet_requests_waited_for_room_total 1.0");
      assertThat(metrics).contains("duet_requests_waiting_for_room 0.0");
      assertThat(metrics).doesNotContain("duet_rejections_total");
      // it waited for most of the first one's 40 decode steps
      assertThat(waitedMs).isGreaterThan(600);
      until(cluster, () -> cluster.usedBlocks() == 0);
    }
  }

  @Test
  void aRequestStillWithoutRoomAtTheEndOfItsTtftBudgetGetsA503ThatSaysSo() throws Exception {
    try (TestCluster cluster =
        new TestCluster(
            MODEL, "sim", List.of("prefill", "decode"), KV_BLOCKS, Duration.ofMillis(500))) {
      CompletableFuture<HttpResponse<String>> first = fillTheDecodeInstance(cluster);
      HttpResponse<String> second = send(cluster, 40).get(30, TimeUnit.SECONDS);

      assertThat(second.statusCode()).isEqualTo(503);
      assertThat(second.headers().firstValue("retry-after")).hasValue("1");
      assertThat(JSON.readTree(second.body()).at("/error/message").asText())
          .contains("no instance had the KV room for the request's")
          .contains("within its TTFT budget of 500 ms");
      // the running request is not disturbed
      assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      String metrics = cluster.gateway.metrics().scrape();
      assertThat(metrics).contains("duet_requests_waited_for_room_total 1.0");
      assertThat(metrics).contains("duet_rejections_total 1.0");
    }
  }

  @Test
  void theWaitFollowsThePolicysAdmissionBudgetAcrossAReload() throws Exception {
    try (TestCluster cluster =
        new TestCluster(MODEL, "sim", List.of("prefill", "decode"), KV_BLOCKS, Duration.ZERO)) {
      PolicyStore policies = new PolicyStore(Clock.systemUTC());
      assertThat(policies.replace("admission: {ttftBudgetMs: 300}", "test"))
          .isInstanceOf(PolicyStore.Outcome.Accepted.class);
      cluster.gateway.ttftBudgetBy(Planners.ttftBudget(policies));

      CompletableFuture<HttpResponse<String>> first = fillTheDecodeInstance(cluster);
      HttpResponse<String> refused = send(cluster, 40).get(30, TimeUnit.SECONDS);
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.body()).contains("within its TTFT budget of 300 ms");
      assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);

      assertThat(policies.replace("admission: {ttftBudgetMs: 30000}", "test"))
          .isInstanceOf(PolicyStore.Outcome.Accepted.class);
      CompletableFuture<HttpResponse<String>> third = fillTheDecodeInstance(cluster);
      HttpResponse<String> fourth = send(cluster, 40).get(30, TimeUnit.SECONDS);
      assertThat(fourth.statusCode()).as(fourth.body()).isEqualTo(200);
      assertThat(third.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aRequestRefusedByADecodeInstanceWhoseReportWasStaleWaitsForRoomAndGetsTheSameTokens()
      throws Exception {
    try (TestCluster cluster =
        new TestCluster(
            MODEL, "sim", List.of("prefill", "decode"), KV_BLOCKS, Duration.ofSeconds(30))) {
      HttpResponse<String> alone = send(cluster, 40).get(30, TimeUnit.SECONDS);
      assertThat(alone.statusCode()).as(alone.body()).isEqualTo(200);
      cluster.awaitBlocksFree();

      // Something the gateway did not route takes the decode worker's KV (as a migration's
      // reservation can), and the registry still holds a report from before: it shows room.
      String endpoint = cluster.registry.find("w1").orElseThrow().descriptor().endpoint();
      // 2 of its 4 blocks: the request needs 3
      HttpResponse<String> squat = post(endpoint, "/internal/v1/reserve", "squatter", 32);
      assertThat(squat.statusCode()).as(squat.body()).isEqualTo(200);
      HttpResponse<String> noRoom = post(endpoint, "/internal/v1/reserve", "another", 48);
      assertThat(noRoom.statusCode()).isEqualTo(429);
      assertThat(JSON.readTree(noRoom.body()).path("free_kv_blocks").asInt())
          .as("a refusal says what the worker has")
          .isEqualTo(2);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (cluster.registry.find("w1").orElseThrow().load().reserved() != 1
          && System.nanoTime() < until) {
        Thread.sleep(50);
      }
      assertThat(cluster.registry.find("w1").orElseThrow().load().reserved())
          .as("the worker's heartbeat reports the reservation (the TPOT batch cap counts it)")
          .isEqualTo(1);
      assertThat(
              cluster.registry.heartbeat(
                  "w1", new dev.duet.controller.registry.InstanceLoad(0, 0, 0, KV_BLOCKS, 0, 0)))
          .isTrue();

      CompletableFuture<HttpResponse<String>> refused = send(cluster, 40);
      Thread.sleep(300);
      assertThat(refused).as("it waits for room, not a 503").isNotDone();
      assertThat(cluster.registry.find("w1").orElseThrow().load().freeKvBlocks())
          .as("the worker's own figure (its refusal's, or a fresher heartbeat's), not the stale 4")
          .isEqualTo(2);
      assertThat(post(endpoint, "/internal/v1/cancel", "squatter", 0).statusCode()).isEqualTo(204);

      HttpResponse<String> served = refused.get(30, TimeUnit.SECONDS);
      assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
      assertThat(JSON.readTree(served.body()).at("/choices/0/text").asText())
          .isEqualTo(JSON.readTree(alone.body()).at("/choices/0/text").asText());
      String metrics = cluster.gateway.metrics().scrape();
      assertThat(metrics).contains("duet_requests_waited_for_room_total 1.0");
      assertThat(metrics).doesNotContain("duet_rejections_total");
      cluster.awaitBlocksFree();
    }
  }

  /** Posts {@code {"id":id,"tokens":tokens}} straight to a worker. */
  private HttpResponse<String> post(String endpoint, String path, String id, int tokens)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(java.net.URI.create(endpoint + path))
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"id\":\"" + id + "\",\"tokens\":" + tokens + "}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Sends a request that takes the decode instance's KV, and waits until it runs there. */
  private CompletableFuture<HttpResponse<String>> fillTheDecodeInstance(TestCluster cluster)
      throws InterruptedException {
    CompletableFuture<HttpResponse<String>> running = send(cluster, 40);
    until(cluster, () -> cluster.load(1).running() == 1);
    return running;
  }

  private static void until(TestCluster cluster, java.util.function.BooleanSupplier done)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out");
      }
      Thread.sleep(10);
    }
  }
}
