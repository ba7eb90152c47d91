package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStream;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of the decode worker serving a stream (a controller, a prefill and two decode
 * workers as separate processes, emulated GPUs): the controller recovers the request on the other
 * decode worker and the client's stream ends with exactly the text of an undisturbed run; the
 * killed instance is declared dead and the next request is served. (Under {@code duet local} a
 * dying child stops the whole local cluster instead, by design.)
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WorkerKillTest {

  @TempDir Path cache;

  @Test
  void killingTheServingDecodeWorkerMidStreamEndsWithTheExactFullOutput() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ObjectMapper json = new ObjectMapper();
    HttpClient http = HttpClient.newHttpClient();
    URI base = URI.create("http://127.0.0.1:" + port);
    List<Process> processes = new ArrayList<>();
    try {
      processes.add(
          duet(
              "controller",
              "--port",
              String.valueOf(port),
              "--model",
              MODEL,
              "--served-model-name",
              "small",
              "--ttft-budget-ms",
              "0")); // no refusals for a slow start on a loaded machine: not what this tests
      for (int w = 0; w < 3; w++) {
        processes.add(
            duet(
                "worker",
                "--role",
                w == 0 ? "prefill" : "decode",
                "--controller",
                base.toString(),
                "--model",
                MODEL,
                "--id",
                "w" + w,
                "--threads",
                "1"));
      }
      long ready = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      int alive = 0;
      while (alive < 3 && System.nanoTime() < ready) {
        Thread.sleep(100);
        try {
          alive = 0;
          for (JsonNode i : instances(http, base, json)) {
            alive += i.path("alive").asBoolean() ? 1 : 0;
          }
        } catch (java.io.IOException notYet) {
          // the controller is still starting
        }
      }
      assertThat(alive).as("three workers registered").isEqualTo(3);
      String expected = text(read(stream(http, base)), json);
      BufferedReader events = stream(http, base);
      List<String> got = new ArrayList<>();
      for (int i = 0; i < 4; i++) { // a few tokens in: the decode worker is streaming
        String l = events.readLine();
        if (l.startsWith("data: ")) {
          got.add(l.substring("data: ".length()));
        }
      }

      // Which worker holds it: the one whose heartbeat reports a running request.
      String serving = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (serving == null && System.nanoTime() < deadline) {
        for (JsonNode i : instances(http, base, json)) {
          if (i.path("running").asInt() > 0 && !i.path("id").asText().equals("w0")) {
            serving = i.path("id").asText();
          }
        }
        Thread.sleep(50);
      }
      assertThat(serving).as("a worker reports the running request").isNotNull();
      String id = serving;
      processes.get(1 + Integer.parseInt(id.substring(1))).destroyForcibly(); // SIGKILL

      got.addAll(read(events));
      assertThat(got).last().isEqualTo("[DONE]");
      assertThat(text(got, json)).isEqualTo(expected);

      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      boolean dead = false;
      while (!dead && System.nanoTime() < deadline) {
        for (JsonNode i : instances(http, base, json)) {
          if (i.path("id").asText().equals(id) && !i.path("alive").asBoolean()) {
            dead = true;
          }
        }
        Thread.sleep(100);
      }
      assertThat(dead).as("%s declared dead", id).isTrue();
      HttpResponse<String> next =
          http.send(
              HttpRequest.newBuilder(base.resolve("/v1/completions"))
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"small\",\"prompt\":\"Once\",\"max_tokens\":3}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
    } finally {
      for (Process p : processes) {
        p.destroy();
      }
      for (Process p : processes) {
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }

  /** Emulated H100s with 6 ms decode steps: a 300-token answer streams for about 2 s. */
  private static final String MODEL = "sim:h100-llama3-8b:16";

  private static BufferedReader stream(HttpClient http, URI base) throws Exception {
    HttpResponse<InputStream> r =
        http.send(
            HttpRequest.newBuilder(base.resolve("/v1/completions"))
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"small\",\"prompt\":\"Once upon a time\","
                            + "\"max_tokens\":300,\"ignore_eos\":true,\"temperature\":0.8,"
                            + "\"seed\":5,\"stream\":true}"))
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    if (r.statusCode() != 200) {
      throw new AssertionError(
          r.statusCode() + ": " + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
    }
    return new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
  }

  /** The rest of an SSE answer's data lines. */
  private static List<String> read(BufferedReader in) throws java.io.IOException {
    List<String> data = new ArrayList<>();
    for (String l = in.readLine(); l != null; l = in.readLine()) {
      if (l.startsWith("data: ")) {
        data.add(l.substring("data: ".length()));
      }
    }
    return data;
  }

  /** The completion text of SSE data lines (an error event fails the test). */
  private static String text(List<String> data, ObjectMapper json) throws Exception {
    StringBuilder b = new StringBuilder();
    for (String d : data) {
      if (!d.equals("[DONE]")) {
        JsonNode c = json.readTree(d);
        assertThat(c.has("error")).as(d).isFalse();
        b.append(c.at("/choices/0/text").asText(""));
      }
    }
    return b.toString();
  }

  /** A {@code duet} child process of this test (output discarded). */
  private Process duet(String... args) throws java.io.IOException {
    return new ProcessBuilder(DuetProcess.command(List.of("-Dduet.cache=" + cache), List.of(args)))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
  }

  private static JsonNode instances(HttpClient http, URI base, ObjectMapper json) throws Exception {
    return json.readTree(
        http.send(
                HttpRequest.newBuilder(base.resolve("/internal/v1/instances")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body());
  }
}
