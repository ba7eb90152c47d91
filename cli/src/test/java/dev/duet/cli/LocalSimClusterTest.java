package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code duet local --engine sim} as a user runs it: emulated-GPU workers in small child JVMs, a
 * split cluster answering exactly what {@code duet generate --engine sim} does alone.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LocalSimClusterTest {

  private static final List<String> SIM =
      List.of("--engine", "sim", "--profile", "h100-llama3-8b", "--kv-scale", "64");

  @Test
  void aSplitSimClusterAnswersWhatGenerateDoesAloneAndStopsCleanly() throws Exception {
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
                "-cp",
                System.getProperty("java.class.path"),
                DuetCommand.class.getName(),
                "local",
                "--prefill",
                "1",
                "--decode",
                "1",
                "--port",
                String.valueOf(port)));
    cmd.addAll(SIM);
    Process local = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(local.getInputStream(), StandardCharsets.UTF_8));
      StringBuilder log = new StringBuilder();
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("Duet is serving")) {
        log.append(line).append('\n');
      }
      assertThat(line).as("duet local reported ready; it wrote:%n%s", log).isNotNull();
      assertThat(line).contains("h100-llama3-8b");
      assertThat(local.descendants().count())
          .as("controller and two workers")
          .isGreaterThanOrEqualTo(3);
      Thread.ofVirtual().start(() -> out.lines().forEach(l -> {}));
      ObjectMapper json = new ObjectMapper();
      HttpClient http = HttpClient.newHttpClient();
      List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      List<List<String>> alone = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        String prompt = "Once upon a time " + i;
        double temperature = i % 2 == 0 ? 0 : 0.8;
        var body = json.createObjectNode();
        body.put("model", "h100-llama3-8b");
        body.put("prompt", prompt);
        body.put("max_tokens", 8 + i);
        body.put("temperature", temperature);
        body.put("seed", 40 + i);
        calls.add(
            http.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
        List<String> args =
            new ArrayList<>(
                List.of(
                    "generate",
                    "--prompt",
                    prompt,
                    "--max-tokens",
                    String.valueOf(8 + i),
                    "--temperature",
                    String.valueOf(temperature),
                    "--seed",
                    String.valueOf(40 + i),
                    "--json"));
        args.addAll(SIM);
        alone.add(args);
      }
      for (int i = 0; i < calls.size(); i++) {
        HttpResponse<String> r = calls.get(i).get();
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        DuetCommandTest.Run g = DuetCommandTest.duet(alone.get(i).toArray(String[]::new));
        assertThat(g.exit()).as(g.err()).isZero();
        assertThat(json.readTree(r.body()).at("/choices/0/text").asText())
            .as("request %d", i)
            .isNotEmpty()
            .isEqualTo(json.readTree(g.out()).path("text").asText());
      }
    } finally {
      List<ProcessHandle> kids = local.descendants().toList();
      local.destroy();
      assertThat(local.waitFor(30, TimeUnit.SECONDS)).isTrue();
      for (ProcessHandle k : kids) {
        k.onExit().get(10, TimeUnit.SECONDS);
      }
      assertThat(kids).noneMatch(ProcessHandle::isAlive);
    }
  }
}
