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
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Live migration between decode workers on real sockets and real kv-transfer: a request moved 0, 1
 * and 3 times at random points streams exactly the text of the unmigrated run, and every block is
 * free at the end; each abort path leaves it running where it was. The workers are emulated GPUs
 * with 10 ms decode steps, so a request is still running when the test moves it, and their tokens
 * follow the K/V bytes in the cache, so a migration that lost or garbled a byte would show.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MigrationTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** 10 ms decode steps; 4 layers of 2 KV heads of 16, BF16: 512 bytes of K/V per token. */
  private static final LatencyProfile PROFILE =
      new LatencyProfile(
          "migration-test",
          new Coefficients(2, 0.005, 1e-6),
          new Coefficients(10, 0.01, 1e-5),
          new Geometry(4, 4, 2, 16, 64, 128, KvDtype.BF16, 2000, 1024));

  private static SimModel model;
  private static TestCluster cluster;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    model = SimModel.create(PROFILE, 1, 1);
    cluster =
        new TestCluster(
            model, "sim", List.of("prefill", "decode", "decode", "decode"), 64, Duration.ZERO);
  }

  @AfterAll
  static void stop() {
    cluster.close();
    model.close();
  }

  private CompletionStream stream(String body) throws Exception {
    return new CompletionStream(http, cluster.uri("/v1/completions"), body);
  }

  private static String body(long seed) {
    return "{\"model\":\"sim\",\"prompt\":\"Once upon a time\",\"max_tokens\":250,\"ignore_eos\":true,"
        + "\"temperature\":0.8,\"seed\":"
        + seed
        + ",\"stream\":true}";
  }

  private static Migrator.Result migrate(String id, String target, Migrator.Options o)
      throws Exception {
    return cluster
        .gateway
        .migrator()
        .migrate(id, target, o)
        .toCompletionStage()
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
  }

  @Test
  void aRequestMigratedZeroOneAndThreeTimesStreamsExactlyTheUnmigratedText() throws Exception {
    SplittableRandom random = new SplittableRandom(3);
    for (long seed : new long[] {11, 12}) {
      CompletionStream reference = stream(body(seed));
      reference.read(Integer.MAX_VALUE);
      for (int moves : new int[] {0, 1, 3}) {
        CompletionStream s = stream(body(seed));
        s.read(1);
        for (int m = 0; m < moves; m++) {
          // A random point: up to 30 decode steps later (an event can carry several tokens).
          Thread.sleep(random.nextInt(300));
          Migrator.Result r = migrate(s.id, null, Migrator.Options.defaults());
          assertThat(r.outcome()).as(r.toString()).isEqualTo("migrated");
          assertThat(r.target()).isNotEqualTo(r.source());
          assertThat(r.bytes()).isPositive();
        }
        s.read(Integer.MAX_VALUE);
        assertThat(s.text.toString())
            .as("seed %d, %d moves", seed, moves)
            .isEqualTo(reference.text.toString());
      }
    }
    assertThat(cluster.awaitBlocksFree()).isZero();
    assertThat(cluster.gateway.metrics().scrape())
        .contains("duet_migrations_total{outcome=\"migrated\"} 8.0")
        .contains("duet_migration_downtime_seconds_count 8");
  }

  @Test
  void eachAbortLeavesTheRequestRunningWhereItWasWithEveryBlockAccountedFor() throws Exception {
    CompletionStream reference = stream(body(21));
    reference.read(Integer.MAX_VALUE);
    CompletionStream s = stream(body(21));
    s.read(2); // the first token comes from the prefill worker, the second from the decode one

    // Through the operator API: a migration that cannot happen is a 409 naming why; an unknown
    // request a 404.
    HttpResponse<String> viaApi =
        http.send(
            HttpRequest.newBuilder(cluster.uri("/admin/v1/requests/" + s.id + "/migrate"))
                .header("authorization", "Bearer " + TestCluster.ADMIN_TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString("{\"target\":\"w0\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(viaApi.statusCode()).as(viaApi.body()).isEqualTo(409);
    assertThat(JSON.readTree(viaApi.body()).at("/error/code").asText())
        .isEqualTo("migration_no_target");
    HttpResponse<String> unknown =
        http.send(
            HttpRequest.newBuilder(cluster.uri("/admin/v1/requests/cmpl-nope/migrate"))
                .header("authorization", "Bearer " + TestCluster.ADMIN_TOKEN)
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(unknown.statusCode()).as(unknown.body()).isEqualTo(404);
    String where = cluster.gateway.inFlight().find(s.id).orElseThrow().instance();
    // Not an instance that can take it: a prefill instance, or an unknown one.
    assertThat(migrate(s.id, "w0", Migrator.Options.defaults()).outcome()).isEqualTo("no_target");
    assertThat(migrate(s.id, "nope", Migrator.Options.defaults()).outcome()).isEqualTo("no_target");
    // Too many stages: with no pre-copy allowed and a context over the delta, it gives up.
    Migrator.Result gaveUp = migrate(s.id, null, new Migrator.Options(0, 1));
    assertThat(gaveUp.outcome()).as(gaveUp.detail()).isEqualTo("gave_up");
    assertThat(cluster.gateway.inFlight().find(s.id).orElseThrow().instance()).isEqualTo(where);
    s.read(1);
    // The target cannot reserve: another request's reservation holds nearly all of w3's blocks.
    String w3 = cluster.registry.find("w3").orElseThrow().descriptor().endpoint();
    HttpResponse<String> filler =
        http.send(
            HttpRequest.newBuilder(java.net.URI.create(w3 + "/internal/v1/reserve"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"filler\",\"tokens\":1000}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(filler.statusCode()).as(filler.body()).isEqualTo(200);
    Migrator.Result refused = migrate(s.id, "w3", Migrator.Options.defaults());
    assertThat(refused.outcome()).as(refused.detail()).isEqualTo("target_refused");
    assertThat(cluster.gateway.inFlight().find(s.id).orElseThrow().instance()).isEqualTo(where);
    http.send(
        HttpRequest.newBuilder(java.net.URI.create(w3 + "/internal/v1/cancel"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"filler\"}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
    s.read(1);
    // Not found once it has finished.
    s.read(Integer.MAX_VALUE);
    assertThat(s.text.toString()).isEqualTo(reference.text.toString());
    assertThat(migrate(s.id, null, Migrator.Options.defaults()).outcome()).isEqualTo("not_found");
    assertThat(cluster.awaitBlocksFree()).isZero();
  }

  @Test
  void aTargetWhoseTransferFailsLeavesTheRequestDecodingOnTheSource() throws Exception {
    try (SimModel sim = SimModel.create(PROFILE, 1, 1);
        TestCluster small =
            new TestCluster(
                sim, "sim", List.of("prefill", "decode", "decode"), 64, Duration.ZERO)) {
      TestCluster shared = cluster;
      cluster = small;
      try {
        CompletionStream reference = stream(body(31));
        reference.read(Integer.MAX_VALUE);
        CompletionStream s = stream(body(31));
        s.read(2);
        String source = small.gateway.inFlight().find(s.id).orElseThrow().instance();
        int target = source.equals("w1") ? 2 : 1;
        // The target's kv-transfer node goes away; its HTTP API still answers (it reserves).
        small.workerEngines.get(target).kv().close();
        Migrator.Result r = migrate(s.id, "w" + target, Migrator.Options.defaults());
        assertThat(r.outcome()).as(r.detail()).isEqualTo("target_failed");
        assertThat(small.gateway.inFlight().find(s.id).orElseThrow().instance()).isEqualTo(source);
        s.read(Integer.MAX_VALUE);
        assertThat(s.text.toString()).isEqualTo(reference.text.toString());
        // the source freed the request's blocks when it ended, the target its reservation
        small.awaitBlocksFree();
        assertThat(small.engines.get(3 - target).cache().usedBlocks()).isZero();
        assertThat(small.engines.get(target).cache().usedBlocks()).isZero();
      } finally {
        cluster = shared;
      }
    }
  }
}
