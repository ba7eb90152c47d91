package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.Generation;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.synth.SyntheticHfWriter;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.tensor.ComputePool;
import java.net.URI;
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
 * The controller's OpenAI API in front of two real workers (role both) that register themselves
 * over HTTP: answers equal the engine's own, streams end in [DONE], bad input is a clean error.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  static ComputePool pool;
  static LlamaModel model;
  static TestCluster cluster;
  static int port;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    Path hf = dir.resolve("qwen");
    SyntheticHfWriter.write(
        SyntheticModel.preset("qwen-tiny"), 5, GgmlType.F32, hf, Long.MAX_VALUE);
    pool = new ComputePool(2);
    model = LlamaModel.load(hf, pool);
    cluster = new TestCluster(model, "qwen-tiny", 2, 64, Duration.ZERO);
    port = cluster.port;
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
    model.close();
    pool.close();
  }

  private static HttpResponse<String> post(String path, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static List<Integer> solo(int[] prompt, SamplingParams p) {
    try (InferenceEngine e =
        InferenceEngine.create(model, EngineOptions.defaults().withKvBlocks(32))) {
      Generation g = e.generate("solo", prompt, p, 512, ev -> {});
      return g.generated();
    }
  }

  @Test
  void aCompletionIsTheEnginesOwnAnswerWithUsage() throws Exception {
    HttpResponse<String> r =
        post(
            "/v1/completions",
            "{\"model\":\"qwen-tiny\",\"prompt\":\"the cat sat\",\"max_tokens\":6,"
                + "\"temperature\":0,\"ignore_eos\":true}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode j = JSON.readTree(r.body());
    int[] prompt = model.tokenizer().encode("the cat sat");
    List<Integer> ids = solo(prompt, SamplingParams.greedy(6).withIgnoreEos(true));
    String text =
        model.tokenizer().decode(ids.stream().mapToInt(Integer::intValue).toArray(), false);
    assertThat(j.path("id").asText()).startsWith("cmpl-");
    assertThat(j.at("/choices/0/text").asText()).isEqualTo(text);
    assertThat(j.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    assertThat(j.at("/usage/prompt_tokens").asInt()).isEqualTo(prompt.length);
    assertThat(j.at("/usage/completion_tokens").asInt()).isEqualTo(6);
  }

  @Test
  void aChatStreamIsServerSentEventsEndingInDone() throws Exception {
    HttpResponse<String> r =
        post(
            "/v1/chat/completions",
            "{\"model\":\"qwen-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"max_tokens\":5,\"seed\":3,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"ignore_eos\":true}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("text/event-stream");
    String[] events = r.body().split("\n\n");
    assertThat(events[events.length - 1]).isEqualTo("data: [DONE]");
    JsonNode first = JSON.readTree(events[0].substring("data: ".length()));
    assertThat(first.path("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(first.at("/choices/0/delta/role").asText()).isEqualTo("assistant");
    JsonNode usage = JSON.readTree(events[events.length - 2].substring("data: ".length()));
    assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(5);
    JsonNode last = JSON.readTree(events[events.length - 3].substring("data: ".length()));
    assertThat(last.at("/choices/0/finish_reason").asText()).isEqualTo("length");
  }

  @Test
  void badInputIsAnOpenAiErrorAndServingGoesOn() throws Exception {
    HttpResponse<String> unknownModel =
        post("/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"x\"}");
    assertThat(unknownModel.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(unknownModel.body()).at("/error/param").asText()).isEqualTo("model");
    HttpResponse<String> n =
        post("/v1/completions", "{\"model\":\"qwen-tiny\",\"prompt\":\"x\",\"n\":2}");
    assertThat(n.statusCode()).isEqualTo(400);
    assertThat(post("/v1/completions", "{oops").statusCode()).isEqualTo(400);
    HttpResponse<String> tooLong =
        post(
            "/v1/completions",
            "{\"model\":\"qwen-tiny\",\"prompt\":" + JSON.writeValueAsString(new int[300]) + "}");
    assertThat(tooLong.statusCode()).isEqualTo(422);
    HttpResponse<String> ok =
        post("/v1/completions", "{\"model\":\"qwen-tiny\",\"prompt\":\"x\",\"max_tokens\":2}");
    assertThat(ok.statusCode()).isEqualTo(200);
    HttpResponse<String> models =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(JSON.readTree(models.body()).at("/data/0/id").asText()).isEqualTo("qwen-tiny");
    String metrics =
        http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertThat(metrics)
        .contains("duet_request_ttft_seconds_bucket")
        .contains("duet_requests_total{outcome=\"404\"}")
        .contains("duet_instances_alive{role=\"both\"} 2.0");
  }

  @Test
  void aClientThatHangsUpMidStreamFreesTheKvOnTheWorker() throws Exception {
    String body =
        "{\"model\":\"qwen-tiny\",\"prompt\":\"the\",\"max_tokens\":200,\"stream\":true,"
            + "\"ignore_eos\":true}";
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      s.getOutputStream()
          .write(
              ("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + "Content-Length: "
                      + body.length()
                      + "\r\n\r\n"
                      + body)
                  .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      java.io.BufferedReader in =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(
                  s.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null && !line.startsWith("data: {")) {
        // headers and chunk sizes, until the first event
      }
      assertThat(line).startsWith("data: {");
      assertThat(cluster.usedBlocks()).isPositive();
    }
    assertThat(cluster.awaitBlocksFree()).isZero();
  }

  @Test
  void theOfficialOpenAiClientParsesAnswersAndStreams() {
    com.openai.client.OpenAIClient client =
        com.openai.client.okhttp.OpenAIOkHttpClient.builder()
            .baseUrl("http://127.0.0.1:" + port + "/v1")
            .apiKey("not-needed")
            .build();
    try {
      com.openai.models.completions.Completion c =
          client
              .completions()
              .create(
                  com.openai.models.completions.CompletionCreateParams.builder()
                      .model("qwen-tiny")
                      .prompt("the cat sat")
                      .maxTokens(4)
                      .temperature(0.0)
                      .build());
      assertThat(c.id()).startsWith("cmpl-");
      assertThat(c.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(4));
      c.validate();

      com.openai.models.chat.completions.ChatCompletionCreateParams chat =
          com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
              .model("qwen-tiny")
              .addSystemMessage("Be brief.")
              .addUserMessage("hi")
              .maxCompletionTokens(3)
              .seed(5)
              .build();
      com.openai.models.chat.completions.ChatCompletion cc =
          client.chat().completions().create(chat);
      cc.validate();
      String whole = cc.choices().get(0).message().content().orElse("");
      StringBuilder streamed = new StringBuilder();
      try (com.openai.core.http.StreamResponse<
              com.openai.models.chat.completions.ChatCompletionChunk>
          stream = client.chat().completions().createStreaming(chat)) {
        stream.stream()
            .forEach(
                chunk -> {
                  chunk.validate();
                  chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append));
                });
      }
      assertThat(streamed.toString()).as("same seed, same text").isEqualTo(whole);
    } finally {
      client.close();
    }
  }
}
