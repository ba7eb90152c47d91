package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.Generation;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import dev.duet.engine.tensor.ComputePool;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Requests served disaggregated (prefill on one worker, KV over kv-transfer, decode on another)
 * through the controller give exactly what one engine gives alone (which is what a role-both
 * instance gives: the engine is batch invariant): 40 concurrent requests, greedy and seeded,
 * streamed and not, with 1+1 and 2+2 workers; and every KV block comes back on both sides.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class DisaggregatedGatewayTest {

  @TempDir Path dir;

  private record Case(int[] prompt, SamplingParams params, boolean stream) {}

  @ParameterizedTest
  @ValueSource(strings = {"prefill,decode", "prefill,prefill,decode,decode"})
  void disaggregatedAnswersEqualTheSoloEngines(String roles) throws Exception {
    ObjectMapper json = new ObjectMapper();
    Path file = dir.resolve("gqa.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("gqa"), 4, GgmlType.F32, file);
    try (ComputePool pool = new ComputePool(2);
        LlamaModel model = LlamaModel.load(file, pool);
        TestCluster cluster =
            new TestCluster(model, "gqa", List.of(roles.split(",")), 512, Duration.ZERO)) {
      SplittableRandom r = new SplittableRandom(roles.length());
      List<Case> cases = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        int[] prompt = new int[2 + r.nextInt(80)];
        prompt[0] = 1;
        for (int j = 1; j < prompt.length; j++) {
          prompt[j] = 3 + r.nextInt(500);
        }
        SamplingParams p =
            i % 2 == 0
                ? SamplingParams.greedy(1 + r.nextInt(20)).withIgnoreEos(true)
                : SamplingParams.random(0.9f, 100 + i, 1 + r.nextInt(20)).withIgnoreEos(true);
        cases.add(new Case(prompt, p, i % 3 == 0));
      }
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      for (Case c : cases) {
        ObjectNode body = json.createObjectNode();
        body.put("model", "gqa");
        body.set("prompt", json.valueToTree(c.prompt()));
        body.put("max_tokens", c.params().maxTokens());
        body.put("temperature", c.params().temperature());
        body.put("seed", c.params().seed());
        body.put("ignore_eos", true);
        body.put("stream", c.stream());
        calls.add(
            http.sendAsync(
                HttpRequest.newBuilder(cluster.uri("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      try (InferenceEngine solo =
          InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(16))) {
        for (int i = 0; i < cases.size(); i++) {
          Case c = cases.get(i);
          Generation g = solo.generate("solo", c.prompt(), c.params(), 512, ev -> {});
          HttpResponse<String> resp = calls.get(i).get();
          assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
          String text;
          if (c.stream()) {
            StringBuilder sb = new StringBuilder();
            for (String line : resp.body().split("\n")) {
              if (line.startsWith("data: {")) {
                JsonNode ev = json.readTree(line.substring("data: ".length()));
                sb.append(ev.at("/choices/0/text").asText(""));
              }
            }
            assertThat(resp.body()).endsWith("data: [DONE]\n\n");
            text = sb.toString();
          } else {
            JsonNode j = json.readTree(resp.body());
            text = j.at("/choices/0/text").asText();
            assertThat(j.at("/usage/completion_tokens").asInt()).isEqualTo(g.generatedCount());
          }
          assertThat(text).as("request %d", i).isEqualTo(g.text());
        }
      }
      assertThat(cluster.awaitBlocksFree()).as("KV blocks left on the workers").isZero();
      // Every worker took part (routing counts what it sends before the next heartbeat).
      for (int w = 0; w < cluster.loops.size(); w++) {
        assertThat(cluster.loops.get(w).load().steps()).as("worker %d steps", w).isPositive();
      }
      // Prefill workers sampled each request's first token, decode workers the rest.
      long decodeTokens = 0;
      long prefillTokens = 0;
      String[] r2 = roles.split(",");
      for (int w = 0; w < r2.length; w++) {
        long t = cluster.loops.get(w).load().tokens();
        if (r2[w].equals("decode")) {
          decodeTokens += t;
        } else {
          prefillTokens += t;
        }
      }
      assertThat(prefillTokens).as("one first token per request").isEqualTo(cases.size());
      assertThat(decodeTokens)
          .isEqualTo(cases.stream().mapToInt(c -> c.params().maxTokens() - 1).sum());
    }
  }

  @org.junit.jupiter.api.Test
  void clientsThatHangUpLeaveNoBlocksOnEitherSide() throws Exception {
    Path file = dir.resolve("gqa2.gguf");
    SyntheticModelWriter.write(SyntheticModel.preset("gqa"), 4, GgmlType.F32, file);
    try (ComputePool pool = new ComputePool(2);
        LlamaModel model = LlamaModel.load(file, pool);
        TestCluster cluster =
            new TestCluster(model, "gqa", List.of("prefill", "decode"), 256, Duration.ZERO)) {
      // Hang up at different moments: at once, after the headers, after a few events.
      for (int linesBeforeHangUp : new int[] {0, 1, 4}) {
        String body =
            "{\"model\":\"gqa\",\"prompt\":\"the\",\"max_tokens\":400,\"stream\":true,"
                + "\"ignore_eos\":true}";
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", cluster.port)) {
          s.getOutputStream()
              .write(
                  ("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                          + "\r\nContent-Length: "
                          + body.length()
                          + "\r\n\r\n"
                          + body)
                      .getBytes(java.nio.charset.StandardCharsets.UTF_8));
          java.io.BufferedReader in =
              new java.io.BufferedReader(
                  new java.io.InputStreamReader(
                      s.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
          for (int i = 0; i < linesBeforeHangUp; i++) {
            in.readLine();
          }
        }
      }
      assertThat(cluster.awaitBlocksFree()).as("blocks left after hang-ups").isZero();
    }
  }
}
