package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.registry.InstanceRole;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link ProcessScaler} with real processes: a {@code duet controller} child serving a sim model, a
 * decode worker the scaler starts for a group that registers with it as one of that group's, and a
 * stop that ends the process.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProcessScalerTest {
  private static final String SPEC = ModelLoader.simSpec("h100-llama3-8b", 64, 1);

  @Test
  void startsASimWorkerOfItsGroupThatRegistersAndStopsItSoItLeaves() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Process controller =
        new ProcessBuilder(
                DuetProcess.command(
                    List.of(),
                    List.of(
                        "controller",
                        "--port",
                        String.valueOf(port),
                        "--model",
                        SPEC,
                        "--admin-token",
                        "process-scaler-test-token")))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    URI base = URI.create("http://127.0.0.1:" + port);
    HttpClient http = HttpClient.newHttpClient();
    ObjectMapper json = new ObjectMapper();
    try (ProcessScaler scaler =
        new ProcessScaler(
            base.toString(),
            SPEC,
            List.of("--threads", "1", "--kv-memory-mb", "64"),
            LocalCommand.SIM_WORKER_JVM,
            "scaled")) {
      await().atMost(Duration.ofSeconds(60)).until(() -> instances(http, base, json) != null);

      String id = scaler.start("batch", InstanceRole.DECODE).get(10, TimeUnit.SECONDS);

      assertThat(id).isEqualTo("scaled-0");
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> alive(instances(http, base, json), id, "decode"));
      assertThat(scaler.running()).containsExactly(id);
      assertThat(group(instances(http, base, json), id)).isEqualTo("batch");

      scaler.stop(id).get(30, TimeUnit.SECONDS);

      assertThat(scaler.running()).isEmpty();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> !alive(instances(http, base, json), id, "decode"));
      assertThat(scaler.stop(id))
          .failsWithin(Duration.ofSeconds(1))
          .withThrowableThat()
          .withMessageContaining("was not started by this scaler");
    } finally {
      controller.destroy();
      if (!controller.waitFor(20, TimeUnit.SECONDS)) {
        controller.destroyForcibly();
      }
    }
  }

  private static JsonNode instances(HttpClient http, URI base, ObjectMapper json) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(base.resolve("/internal/v1/instances")).build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? json.readTree(r.body()) : null;
    } catch (Exception e) {
      return null;
    }
  }

  private static String group(JsonNode instances, String id) {
    for (JsonNode i : instances) {
      if (i.path("id").asText().equals(id)) {
        return i.path("group").asText();
      }
    }
    return null;
  }

  private static boolean alive(JsonNode instances, String id, String role) {
    if (instances == null) {
      return false;
    }
    for (JsonNode i : instances) {
      if (i.path("id").asText().equals(id)
          && i.path("alive").asBoolean()
          && i.path("role").asText().equals(role)) {
        return true;
      }
    }
    return false;
  }
}
