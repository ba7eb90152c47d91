package dev.duet.controller.tidal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.events.ClusterEvent;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.gateway.TestCluster;
import dev.duet.controller.planner.GroupPlan;
import dev.duet.controller.planner.InstanceState;
import dev.duet.controller.planner.Scaler;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import dev.duet.engine.sim.SimModel;
import dev.duet.engine.sim.SimProfiles;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IntSummaryStatistics;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 7's end-to-end test: a compressed tide on an emulated cluster, in which the prefill:decode
 * ratio follows the tide and no request fails during the flips.
 *
 * <p>Six sim workers (three prefill, three decode) of {@code h100-llama3-8b} at a quarter of its
 * speed, behind the real gateway, with the real {@link PlannerLoop} running its rounds every two
 * seconds and flipping through the real {@code InPlaceRoleFlipper}; a fixed budget of six ({@code
 * minInstances == maxInstances}) and a scaler that is not available (the loop must neither start,
 * stop nor drain a worker, nor ask to). The test sends a seeded tide of non-streaming,
 * seeded-sampling requests: a prompt-heavy phase (prompts of ~680 tokens, 1-2 output tokens), then
 * an output-heavy one (prompts of ~30 tokens, 50-90 output tokens). The policy sizes for 45% of the
 * measured capacity, so three prefill instances are too few for the first phase and two decode
 * instances too few for the second, while the cluster serves either phase at any ratio. The planner
 * must move to more prefill in the first phase and to more decode in the second, flipping each way
 * at least once and at least once while the instance held requests; every request must end with all
 * its tokens, the same tokens a replay on the settled cluster gives (every migrated request and
 * every eighth one), and every KV block must be free at the end. The ratio's timeline, the
 * planner's sizing each round and the flips are logged.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class CompressedTideIT {
  private static final Logger LOG = LoggerFactory.getLogger(CompressedTideIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Passes take four times the profile's time: a 64-token prefill chunk ~30 ms, a step ~25 ms. */
  private static final double SIM_SPEEDUP = 0.25;

  private static final String POLICY =
      """
      slo: {ttftMs: 5000, tpotMs: 150}
      roles:
        prefill: {min: 2, max: 4}
        decode: {min: 2, max: 4}
      budget: {minInstances: 6, maxInstances: 6}
      planner:
        intervalSeconds: 2
        maxUtilization: 0.45
        correction: {min: 0.5, max: 1}
        predictor: {periodSeconds: 60, buckets: 30, trendWindow: 3}
        hysteresis: {band: 0.2}
        cooldowns: {flipSeconds: 6, scaleSeconds: 300}
        maxFlipsPerInterval: 2
      rebalancer: {enabled: false}
      """;

  private static final TideLoad.Phase PROMPT_HEAVY =
      new TideLoad.Phase("prompt-heavy", 16, 3.5, 260, 320, 1, 2);
  private static final TideLoad.Phase OUTPUT_HEAVY =
      new TideLoad.Phase("output-heavy", 22, 3, 3, 15, 50, 90);

  /**
   * A flip's detail when the instance held requests as it flipped: it moved running requests away,
   * waited for prompts it held, or waited at least 200 ms to empty (an empty instance takes two
   * looks 20 ms apart; longer means requests routed to it before the cordon, e.g. blocks reserved
   * for a prompt being prefilled, had to leave it first).
   */
  private static final Pattern WORK_IN_FLIGHT =
      Pattern.compile(
          "migrated [1-9]\\d* of|\\((?:[1-9]\\d* queued, \\d+|\\d+ queued, [1-9]\\d*) running"
              + "|waited [2-9]\\d{2,} ms for it to empty|waited [1-9]\\d{3,} ms for it to empty");

  private final SimModel model =
      SimModel.create(SimProfiles.named("h100-llama3-8b"), 64, SIM_SPEEDUP);
  private final HttpClient http = HttpClient.newHttpClient();
  private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
  private final List<String> scalerCalls = Collections.synchronizedList(new ArrayList<>());
  private TestCluster cluster;

  /** A fixed budget: the loop must neither start nor stop a worker, nor drain one for it. */
  private final Scaler noScaling =
      new Scaler() {
        @Override
        public CompletableFuture<String> start(String group, InstanceRole role) {
          scalerCalls.add("start " + role);
          return CompletableFuture.failedFuture(new IllegalStateException("fixed budget"));
        }

        @Override
        public CompletableFuture<Void> stop(String instanceId) {
          scalerCalls.add("stop " + instanceId);
          return CompletableFuture.failedFuture(new IllegalStateException("fixed budget"));
        }

        @Override
        public boolean available() {
          return false;
        }
      };

  /** The roles and the planner's targets at one moment, ms after the tide's start. */
  private record Sample(
      long atMillis, int prefill, int decode, int targetPrefill, int targetDecode, String sizing) {}

  @AfterEach
  void stop() throws InterruptedException {
    sampler.shutdownNow();
    sampler.awaitTermination(5, TimeUnit.SECONDS);
    if (cluster != null) {
      cluster.close();
    }
    model.close();
  }

  @Test
  void theRatioFollowsACompressedTideAndNoRequestFailsDuringTheFlips() throws Exception {
    cluster =
        new TestCluster(
            model,
            "sim",
            List.of("prefill", "prefill", "prefill", "decode", "decode", "decode"),
            2048,
            Duration.ZERO);
    PolicyStore policies = new PolicyStore(Clock.systemUTC());
    assertThat(policies.replace(POLICY, "test")).isInstanceOf(PolicyStore.Outcome.Accepted.class);
    TideLoad tide = new TideLoad(7, List.of(PROMPT_HEAVY, OUTPUT_HEAVY));
    long start = System.nanoTime();
    Instant startWall = Instant.now();
    PlannerLoop loop = cluster.wirePlanner(policies, noScaling, true);
    List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
    sampler.scheduleAtFixedRate(
        () -> samples.add(sample(loop, TideLoad.millisSince(start))),
        0,
        250,
        TimeUnit.MILLISECONDS);

    List<TideLoad.Sent> sent = tide.run(http, cluster.uri("/v1/completions"), start);
    CompletableFuture.allOf(
            sent.stream().map(TideLoad.Sent::answer).toArray(CompletableFuture[]::new))
        .get(60, TimeUnit.SECONDS);
    long tideEnd = TideLoad.millisSince(start);
    loop.close();
    until("the last flips to finish", () -> flipping(loop) == 0);
    sampler.shutdownNow();
    List<ClusterEvent> events = cluster.events.page(0, 100_000).events();
    logTimeline(tide, samples, events, startWall);

    // every request: 200, all its tokens, a finish reason
    Map<Integer, String> texts = new ConcurrentHashMap<>();
    Map<String, Integer> byId = new ConcurrentHashMap<>();
    Map<String, IntSummaryStatistics> promptTokens = new TreeMap<>();
    for (TideLoad.Sent s : sent) {
      HttpResponse<String> r = s.answer().get().response();
      TideLoad.Request q = s.request();
      assertThat(r.statusCode())
          .as("request %d (%s): %s", q.n(), q.phase().name(), r.body())
          .isEqualTo(200);
      JsonNode body = JSON.readTree(r.body());
      assertThat(body.at("/usage/completion_tokens").asInt())
          .as("request %d", q.n())
          .isEqualTo(q.maxTokens());
      assertThat(body.at("/choices/0/finish_reason").asText())
          .as("request %d", q.n())
          .isEqualTo("length");
      texts.put(q.n(), body.at("/choices/0/text").asText());
      promptTokens
          .computeIfAbsent(q.phase().name(), k -> new IntSummaryStatistics())
          .accept(body.at("/usage/prompt_tokens").asInt());
      byId.put(body.path("id").asText(), q.n());
    }

    LOG.info("prompt tokens by phase: {}", promptTokens);

    // the ratio followed the tide: more prefill in the prompt-heavy phase, more decode after
    long outputStart = tide.startMillis(OUTPUT_HEAVY);
    int mostPrefill =
        samples.stream()
            .filter(s -> s.atMillis() < outputStart + 4000)
            .mapToInt(Sample::prefill)
            .max()
            .orElse(0);
    Sample peakPrefill =
        samples.stream().filter(s -> s.prefill() == mostPrefill).findFirst().orElseThrow();
    int mostDecode =
        samples.stream()
            .filter(s -> s.atMillis() >= outputStart)
            .mapToInt(Sample::decode)
            .max()
            .orElse(0);
    assertThat(mostPrefill).as("prefill instances during the prompt-heavy phase").isGreaterThan(3);
    assertThat(mostDecode).as("decode instances during the output-heavy phase").isGreaterThan(3);
    assertThat(peakPrefill.atMillis())
        .as("prefill peaked in the prompt-heavy phase")
        .isGreaterThan(0)
        .isLessThan(outputStart + 4000);
    List<String> flips =
        events.stream()
            .filter(e -> e.kind() == EventKind.FLIP && !e.detail().startsWith("planner:"))
            .map(ClusterEvent::detail)
            .toList();
    assertThat(flips)
        .as("flips done")
        .anyMatch(d -> d.startsWith("decode → prefill in"))
        .anyMatch(d -> d.startsWith("prefill → decode in"))
        .noneMatch(d -> d.startsWith("not flipped"));
    assertThat(loop.counts().flipsNotDone()).isZero();
    assertThat(flips)
        .as("some flip held requests (moved them away, or let them finish there first)")
        .anyMatch(d -> WORK_IN_FLIGHT.matcher(d).find());

    // a fixed budget: nothing started, stopped or drained; every worker serving
    assertThat(scalerCalls).isEmpty();
    assertThat(events)
        .as("minInstances == maxInstances: the planner meets the tide by flips alone")
        .noneMatch(e -> e.kind() == EventKind.DRAIN || e.kind() == EventKind.SCALE);
    assertThat(cluster.registry.alive()).hasSize(6).noneMatch(InstanceView::cordoned);

    // the same tokens as on the settled cluster, for every request a migration was tried on, and a
    // sample
    Set<Integer> migrated =
        events.stream()
            .filter(e -> e.kind() == EventKind.MIGRATION && e.request() != null)
            .map(e -> byId.get(e.request()))
            .filter(n -> n != null)
            .collect(Collectors.toCollection(HashSet::new));
    Set<Integer> replay = new HashSet<>(migrated);
    for (TideLoad.Sent s : sent) {
      if (s.request().n() % 8 == 0) {
        replay.add(s.request().n());
      }
    }
    LOG.info(
        "{} requests in {} ms, {} with a migration tried; replaying {}",
        sent.size(),
        tideEnd,
        migrated.size(),
        replay.size());
    replayMatches(tide, replay, texts);
    until("every KV block is free", () -> cluster.usedBlocks() == 0);
  }

  private Sample sample(PlannerLoop loop, long at) {
    int p = 0;
    int d = 0;
    for (InstanceView v : cluster.registry.alive()) {
      if (v.descriptor().role() == InstanceRole.PREFILL) {
        p++;
      } else if (v.descriptor().role() == InstanceRole.DECODE) {
        d++;
      }
    }
    var last = loop.planner().last();
    var plan = last.map(x -> x.group(Policy.DEFAULT_GROUP));
    String sizing =
        last.flatMap(
                x -> x.why().stream().filter(w -> w.startsWith("default: forecast")).findFirst())
            .orElse("");
    return new Sample(
        at,
        p,
        d,
        plan.map(GroupPlan::targetPrefill).orElse(0),
        plan.map(GroupPlan::targetDecode).orElse(0),
        sizing);
  }

  private static long flipping(PlannerLoop loop) {
    return loop.instances(System.currentTimeMillis()).stream()
        .filter(i -> i.phase() == InstanceState.Phase.FLIPPING)
        .count();
  }

  private void replayMatches(TideLoad tide, Set<Integer> which, Map<Integer, String> texts)
      throws Exception {
    List<TideLoad.Request> requests =
        tide.schedule().stream().filter(r -> which.contains(r.n())).toList();
    for (int from = 0; from < requests.size(); from += 24) {
      List<TideLoad.Request> batch = requests.subList(from, Math.min(from + 24, requests.size()));
      List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
      for (TideLoad.Request r : batch) {
        answers.add(
            http.sendAsync(
                HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(r.body()))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      for (int i = 0; i < batch.size(); i++) {
        HttpResponse<String> resp = answers.get(i).get(60, TimeUnit.SECONDS);
        int n = batch.get(i).n();
        assertThat(resp.statusCode()).as("replay of %d: %s", n, resp.body()).isEqualTo(200);
        assertThat(JSON.readTree(resp.body()).at("/choices/0/text").asText())
            .as("request %d's text against its replay", n)
            .isEqualTo(texts.get(n));
      }
    }
  }

  private static void logTimeline(
      TideLoad tide, List<Sample> samples, List<ClusterEvent> events, Instant startWall) {
    StringBuilder out = new StringBuilder("ratio timeline (P:D now, target from the last round):");
    List<Sample> copy;
    synchronized (samples) {
      copy = List.copyOf(samples);
    }
    long next = 0;
    for (Sample s : copy) {
      if (s.atMillis() < next) {
        continue;
      }
      next = s.atMillis() / 1000 * 1000 + 1000;
      String phase =
          tide.phases().stream()
              .filter(p -> s.atMillis() >= tide.startMillis(p))
              .reduce((a, b) -> b)
              .map(TideLoad.Phase::name)
              .orElse("");
      if (s.atMillis() >= tide.lengthMillis()) {
        phase = "(draining)";
      }
      out.append(
          String.format(
              "%n  t=%5.1f s  %-13s P:D %d:%d  target %d:%d  %s",
              s.atMillis() / 1e3,
              phase,
              s.prefill(),
              s.decode(),
              s.targetPrefill(),
              s.targetDecode(),
              "P".repeat(s.prefill()) + "D".repeat(s.decode())));
    }
    out.append("\nplanner rounds (sizing):");
    String previous = "";
    for (Sample s : copy) {
      if (!s.sizing().equals(previous)) {
        previous = s.sizing();
        out.append(String.format("%n  t=%5.1f s  %s", s.atMillis() / 1e3, s.sizing()));
      }
    }
    out.append("\nflips:");
    for (ClusterEvent e : events) {
      if (e.kind() == EventKind.FLIP && !e.detail().startsWith("planner:")) {
        out.append(
            String.format(
                "%n  t=%5.1f s  %s: %s",
                Duration.between(startWall, e.time()).toMillis() / 1e3, e.instance(), e.detail()));
      }
    }
    LOG.info("{}", out);
  }

  private static void until(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(condition.getAsBoolean()).as(what).isTrue();
  }
}
