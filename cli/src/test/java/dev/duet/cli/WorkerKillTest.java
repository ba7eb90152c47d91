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
 * {@code kill -9} of the worker process serving a stream (a controller and two workers as separate
 * processes): the client's stream ends with an error event and [DONE], the controller declares the
 * instance dead, and the next request is served by the other worker. (Under {@code duet local} a
 * dying child stops the whole local cluster instead, by design.)
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WorkerKillTest {

  @TempDir Path cache;

  @Test
  void killingTheServingWorkerEndsTheStreamCleanlyAndTrafficMovesOn() throws Exception {
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
              "synth:small",
              "--served-model-name",
              "small"));
      for (int w = 0; w < 2; w++) {
        processes.add(
            duet(
                "worker",
                "--controller",
                base.toString(),
                "--model",
                "synth:small",
                "--id",
                "w" + w,
                "--threads",
                "1"));
      }
      long ready = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      int alive = 0;
      while (alive < 2 && System.nanoTime() < ready) {
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
      assertThat(alive).as("both workers registered").isEqualTo(2);
      HttpResponse<InputStream> stream =
          http.send(
              HttpRequest.newBuilder(base.resolve("/v1/completions"))
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"small\",\"prompt\":\"Once\",\"max_tokens\":480,"
                              + "\"ignore_eos\":true,\"stream\":true}"))
                  .build(),
              HttpResponse.BodyHandlers.ofInputStream());
      assertThat(stream.statusCode()).isEqualTo(200);
      BufferedReader events =
          new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
      assertThat(events.readLine()).startsWith("data: {");

      // Which worker holds it: the one whose heartbeat reports a running request.
      String serving = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (serving == null && System.nanoTime() < deadline) {
        for (JsonNode i : instances(http, base, json)) {
          if (i.path("running").asInt() > 0) {
            serving = i.path("id").asText();
          }
        }
        Thread.sleep(50);
      }
      assertThat(serving).as("a worker reports the running request").isNotNull();
      String id = serving;
      processes.get(1 + Integer.parseInt(id.substring(1))).destroyForcibly(); // SIGKILL

      List<String> rest = new ArrayList<>();
      for (String l = events.readLine(); l != null; l = events.readLine()) {
        if (l.startsWith("data: ")) {
          rest.add(l.substring("data: ".length()));
        }
      }
      assertThat(rest).last().isEqualTo("[DONE]");
      assertThat(json.readTree(rest.get(rest.size() - 2)).at("/error/type").asText())
          .isEqualTo("upstream_error");

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

  /** A {@code duet} child process of this test (output discarded). */
  private Process duet(String... args) throws java.io.IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Dduet.cache=" + cache,
                "-Dduet.parent.pid=" + ProcessHandle.current().pid(),
                "-cp",
                System.getProperty("java.class.path"),
                DuetCommand.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd)
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
