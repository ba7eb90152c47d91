package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.sim.LatencyProfile;
import dev.duet.engine.sim.LatencyProfile.Coefficients;
import dev.duet.engine.sim.LatencyProfile.Geometry;
import dev.duet.engine.sim.SimModel;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Emulated-GPU workers behind the real controller: a disaggregated cluster (prefill workers writing
 * real BF16 K/V into decode workers over kv-transfer) answers exactly what a colocated one does,
 * because the sim's tokens follow the K/V bytes the decode worker's cache holds.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SimClusterTest {

  /** Passes of about a millisecond; 4 layers of 2 KV heads of 16, BF16: 512 bytes per token. */
  private static final LatencyProfile PROFILE =
      new LatencyProfile(
          "test",
          new Coefficients(0.5, 0.005, 1e-6),
          new Coefficients(0.5, 0.01, 1e-5),
          new Geometry(4, 4, 2, 16, 64, 128, KvDtype.BF16, 2000, 512));

  private record Case(String body, boolean stream) {}

  @Test
  void disaggregatedSimWorkersAnswerExactlyWhatColocatedOnesDo() throws Exception {
    SimModel model = SimModel.create(PROFILE, 1, 1);
    ObjectMapper json = new ObjectMapper();
    SplittableRandom r = new SplittableRandom(7);
    List<Case> cases = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      ObjectNode body = json.createObjectNode();
      body.put("model", "sim");
      if (i % 4 == 0) {
        body.put("prompt", "Once upon a time there was a dog number " + i);
      } else {
        int[] prompt = new int[2 + r.nextInt(70)];
        for (int j = 0; j < prompt.length; j++) {
          prompt[j] = 3 + r.nextInt(1900);
        }
        body.set("prompt", json.valueToTree(prompt));
      }
      body.put("max_tokens", 1 + r.nextInt(24));
      if (i % 2 == 1) {
        body.put("temperature", 0.9);
        body.put("seed", 100 + i);
      } else {
        body.put("temperature", 0);
      }
      body.put("ignore_eos", true);
      boolean stream = i % 3 == 0;
      body.put("stream", stream);
      cases.add(new Case(body.toString(), stream));
    }
    List<String> split = answers(model, List.of("prefill", "prefill", "decode", "decode"), cases);
    List<String> colocated = answers(model, List.of("both"), cases);
    assertThat(split).isEqualTo(colocated);
    assertThat(split).allSatisfy(t -> assertThat(t).isNotEmpty());
  }

  /** Each case's completion text, sent all at once to a fresh cluster of {@code roles}. */
  private static List<String> answers(SimModel model, List<String> roles, List<Case> cases)
      throws Exception {
    ObjectMapper json = new ObjectMapper();
    try (TestCluster cluster = new TestCluster(model, "sim", roles, 256, Duration.ZERO)) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      for (Case c : cases) {
        calls.add(
            http.sendAsync(
                HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(c.body()))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      List<String> texts = new ArrayList<>();
      for (int i = 0; i < cases.size(); i++) {
        HttpResponse<String> resp = calls.get(i).get();
        assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
        StringBuilder sb = new StringBuilder();
        if (cases.get(i).stream()) {
          for (String line : resp.body().split("\n")) {
            if (line.startsWith("data: {")) {
              JsonNode ev = json.readTree(line.substring("data: ".length()));
              sb.append(ev.at("/choices/0/text").asText(""));
            }
          }
        } else {
          sb.append(json.readTree(resp.body()).at("/choices/0/text").asText());
        }
        texts.add(sb.toString());
      }
      assertThat(cluster.awaitBlocksFree()).as("KV blocks left on the workers").isZero();
      return texts;
    }
  }
}
