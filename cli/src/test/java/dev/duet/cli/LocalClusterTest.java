package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code duet local} as a user runs it: real child processes, a real request, a clean stop. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LocalClusterTest {

  @TempDir Path cache;

  @ParameterizedTest
  @ValueSource(strings = {"--both 2", "--prefill 1 --decode 1", "--prefill 2 --decode 2"})
  void localStartsAClusterThatAnswersExactlyAndLeavesNoChildBehind(String workers)
      throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    List<String> cmd =
        new ArrayList<>(
            List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Dduet.cache=" + cache,
                "-cp",
                System.getProperty("java.class.path"),
                DuetCommand.class.getName(),
                "local"));
    cmd.addAll(List.of(workers.split(" ")));
    cmd.addAll(List.of("--model", "synth:tiny", "--threads", "1", "--port", String.valueOf(port)));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().remove("DUET_ADMIN_TOKEN"); // so duet local generates and prints one
    Process local = pb.start();
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(local.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("Duet is serving")) {
        // startup logs
      }
      assertThat(line).as("duet local reported ready").isNotNull().contains("workers");
      while ((line = out.readLine()) != null && !line.contains("Authorization: Bearer ")) {
        // the curl example, until the operator API's line
      }
      assertThat(line).as("duet local printed the operator API's token").isNotNull();
      String token =
          line.substring(line.indexOf("Bearer ") + "Bearer ".length(), line.lastIndexOf('\''));
      HttpResponse<String> cluster =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + port + "/admin/v1/cluster"))
                      .header("Authorization", "Bearer " + token)
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(cluster.statusCode()).as(cluster.body()).isEqualTo(200);
      int workerCount = 0;
      for (String n : workers.split(" ")) {
        workerCount += n.matches("\\d+") ? Integer.parseInt(n) : 0;
      }
      assertThat(new ObjectMapper().readTree(cluster.body()).at("/instances/total").asInt())
          .isEqualTo(workerCount);
      assertExactAgainstGenerate(port);
      if (workers.contains("prefill")) {
        // The KV went over kv-transfer, and the workers' /metrics show it.
        JsonNode instances =
            new ObjectMapper()
                .readTree(
                    HttpClient.newHttpClient()
                        .send(
                            HttpRequest.newBuilder(
                                    URI.create(
                                        "http://127.0.0.1:" + port + "/internal/v1/instances"))
                                .build(),
                            HttpResponse.BodyHandlers.ofString())
                        .body());
        StringBuilder metrics = new StringBuilder();
        for (JsonNode i : instances) {
          metrics.append(
              HttpClient.newHttpClient()
                  .send(
                      HttpRequest.newBuilder(URI.create(i.path("endpoint").asText() + "/metrics"))
                          .build(),
                      HttpResponse.BodyHandlers.ofString())
                  .body());
        }
        assertThat(metrics.toString()).contains("duet_kv_transfer_bytes_total");
      }
      Thread.ofVirtual()
          .start(
              () -> {
                try {
                  out.lines().forEach(l -> {});
                } catch (java.io.UncheckedIOException closed) {
                  // the process ended
                }
              });
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                      .header("content-type", "application/json")
                      .POST(
                          HttpRequest.BodyPublishers.ofString(
                              "{\"model\":\"tiny\",\"prompt\":\"Once\",\"max_tokens\":3,"
                                  + "\"temperature\":0}"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode j = new ObjectMapper().readTree(r.body());
      assertThat(j.at("/usage/completion_tokens").asInt()).isBetween(1, 3);

      // The load generator against the same cluster: every request completes.
      DuetCommandTest.Run bench =
          DuetCommandTest.duet(
              "bench",
              "serve",
              "--url",
              "http://127.0.0.1:" + port,
              "--rate",
              "5",
              "--duration",
              "1",
              "--json");
      assertThat(bench.exit()).as(bench.err() + bench.out()).isZero();
      JsonNode b = new ObjectMapper().readTree(bench.out());
      assertThat(b.path("failed").asInt()).isZero();
      assertThat(b.path("ok").asInt()).isEqualTo(b.path("sent").asInt()).isPositive();
      assertThat(b.path("ttft_ms_p50").asDouble()).isPositive();
      assertThat(b.path("gateway_overhead_ms_p99").asDouble()).isPositive();
    } finally {
      List<ProcessHandle> kids = local.descendants().toList();
      assertThat(kids).hasSizeGreaterThanOrEqualTo(3);
      local.destroy(); // SIGTERM: the shutdown hook stops the children
      assertThat(local.waitFor(30, TimeUnit.SECONDS)).isTrue();
      for (ProcessHandle k : kids) {
        k.onExit().get(10, TimeUnit.SECONDS);
        assertThat(k.isAlive()).isFalse();
      }
    }
  }

  /**
   * Concurrent greedy and seeded requests get exactly the text {@code duet generate} produces for
   * the same prompt and sampling.
   */
  private static void assertExactAgainstGenerate(int port) throws Exception {
    ObjectMapper json = new ObjectMapper();
    HttpClient http = HttpClient.newHttpClient();
    String[] prompts = {"Once upon a time", "the", "hello world, this is a longer prompt", "a b c"};
    List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    List<String[]> generateArgs = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      String prompt = prompts[i % prompts.length];
      int max = 4 + i;
      double temperature = i % 2 == 0 ? 0 : 0.8;
      long seed = 40 + i;
      var body = json.createObjectNode();
      body.put("model", "tiny");
      body.put("prompt", prompt);
      body.put("max_tokens", max);
      body.put("temperature", temperature);
      body.put("seed", seed);
      body.put("ignore_eos", true);
      calls.add(
          http.sendAsync(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                  .header("content-type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                  .build(),
              HttpResponse.BodyHandlers.ofString()));
      generateArgs.add(
          new String[] {
            "generate",
            "--model",
            "synth:tiny",
            "--prompt",
            prompt,
            "--max-tokens",
            String.valueOf(max),
            "--temperature",
            String.valueOf(temperature),
            "--seed",
            String.valueOf(seed),
            "--ignore-eos",
            "--json"
          });
    }
    for (int i = 0; i < calls.size(); i++) {
      HttpResponse<String> r = calls.get(i).get();
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      DuetCommandTest.Run alone = DuetCommandTest.duet(generateArgs.get(i));
      assertThat(alone.exit()).as(alone.err()).isZero();
      assertThat(json.readTree(r.body()).at("/choices/0/text").asText())
          .as("request %d", i)
          .isEqualTo(json.readTree(alone.out()).path("text").asText());
    }
  }
}
