package dev.duet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A controller and workers as {@link DuetProcess} children of this JVM, on 127.0.0.1, for
 * benchmarks that need a real cluster they control: started, awaited until every worker is live,
 * driven through the operator API, and stopped (destroyed, then killed after a grace period) on
 * {@link #close()}.
 *
 * <p>Threading: one caller.
 */
final class ProcessCluster implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The token the controller's operator API is started with. */
  public static final String ADMIN_TOKEN = "bench-admin-token-" + ProcessHandle.current().pid();

  private final List<Process> processes = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private final URI base;

  /**
   * Starts a controller serving {@code model} and a worker per role in {@code roles}.
   *
   * @param controllerArgs extra controller options (e.g. {@code --policy FILE})
   * @param workerArgs extra options of every worker (e.g. {@code --kv-memory-mb 1200})
   */
  ProcessCluster(
      String model,
      List<String> roles,
      List<String> controllerArgs,
      List<String> workerArgs,
      Path log)
      throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    base = URI.create("http://127.0.0.1:" + port);
    List<String> c =
        new ArrayList<>(
            List.of(
                "controller",
                "--port",
                String.valueOf(port),
                "--model",
                model,
                "--served-model-name",
                "bench",
                "--ttft-budget-ms",
                "0"));
    c.addAll(controllerArgs);
    start(c, log);
    for (int i = 0; i < roles.size(); i++) {
      List<String> w =
          new ArrayList<>(
              List.of(
                  "worker",
                  "--role",
                  roles.get(i),
                  "--controller",
                  base.toString(),
                  "--model",
                  model,
                  "--id",
                  roles.get(i) + "-" + i,
                  "--threads",
                  "1"));
      w.addAll(workerArgs);
      start(w, log);
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (alive() < roles.size()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the cluster did not come up in 120 s (see " + log + ")");
      }
      for (Process p : processes) {
        if (!p.isAlive()) {
          throw new IllegalStateException(
              "a cluster process exited with " + p.exitValue() + " (see " + log + ")");
        }
      }
      Thread.sleep(200);
    }
  }

  private void start(List<String> args, Path log) throws IOException {
    ProcessBuilder pb =
        new ProcessBuilder(DuetProcess.command(List.of("-Xmx512m", "-XX:+UseSerialGC"), args))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().put("DUET_ADMIN_TOKEN", ADMIN_TOKEN);
    processes.add(pb.start());
  }

  /** The controller's URL. */
  public URI url() {
    return base;
  }

  /** Live instances the controller knows. */
  public int alive() {
    try {
      JsonNode list = JSON.readTree(get("/internal/v1/instances"));
      int n = 0;
      for (JsonNode i : list) {
        n += i.path("alive").asBoolean() ? 1 : 0;
      }
      return n;
    } catch (IOException | InterruptedException e) {
      return 0;
    }
  }

  /** The ids of the live instances of {@code role}. */
  public List<String> instances(String role) throws IOException, InterruptedException {
    List<String> ids = new ArrayList<>();
    for (JsonNode i : JSON.readTree(get("/internal/v1/instances"))) {
      if (i.path("role").asText().equals(role) && i.path("alive").asBoolean()) {
        ids.add(i.path("id").asText());
      }
    }
    return ids;
  }

  private String get(String path) throws IOException, InterruptedException {
    return http.send(
            HttpRequest.newBuilder(base.resolve(path)).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  /** POSTs to the operator API; returns the status and the JSON answer. */
  public HttpResponse<String> admin(String path, String body)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(base.resolve("/admin/v1" + path))
            .header("authorization", "Bearer " + ADMIN_TOKEN)
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() {
    Processes.stopAll(processes, Duration.ofSeconds(15));
  }
}
