package dev.duet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.cli.load.TidalChart;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One {@code duet local --engine sim} cluster of a tidal benchmark run, as a child process (its
 * controller and workers are its children, and all exit with it): started, asked for its roles,
 * planner and events over the operator API, and stopped.
 *
 * <p>Not thread-safe, except {@link #sample} which a sampling thread calls.
 */
final class TidalCluster implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String TOKEN = "duet-bench-tidal-" + Long.toHexString(System.nanoTime());

  private final Process local;
  final URI base;
  private final HttpClient http = HttpClient.newHttpClient();

  private TidalCluster(Process local, URI base) {
    this.local = local;
    this.base = base;
  }

  /**
   * Starts {@code prefill} prefill and {@code decode} decode workers of {@code engine} (duet
   * local's engine flags) under the controller's {@code policy} file; with {@code planner}, the
   * controller runs the tidal planner.
   *
   * @param log where the cluster's output goes
   */
  static TidalCluster start(
      List<String> engine,
      int prefill,
      int decode,
      Path policy,
      boolean planner,
      Path log,
      int readySeconds)
      throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    List<String> args =
        new ArrayList<>(
            List.of(
                "local",
                "--prefill",
                String.valueOf(prefill),
                "--decode",
                String.valueOf(decode),
                "--port",
                String.valueOf(port),
                "--ready-timeout",
                String.valueOf(readySeconds)));
    args.addAll(engine);
    args.addAll(List.of("--policy", policy.toString()));
    if (planner) {
      args.add("--planner");
    }
    ProcessBuilder pb =
        new ProcessBuilder(DuetProcess.command(List.of(), args))
            .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().put(dev.duet.controller.admin.AdminToken.ENV, TOKEN);
    Process p = pb.start();
    TidalCluster c = new TidalCluster(p, URI.create("http://127.0.0.1:" + port));
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.startsWith("Duet is serving")) {
      // the banner comes once every worker registered
    }
    if (line == null) {
      c.close();
      throw new IllegalStateException(
          "duet local ("
              + prefill
              + " prefill, "
              + decode
              + " decode) did not start; its log is "
              + log);
    }
    Thread.ofVirtual().start(() -> out.lines().forEach(l -> {}));
    return c;
  }

  JsonNode admin(String path) throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(base.resolve("/admin/v1" + path))
                .header("Authorization", "Bearer " + TOKEN)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException(
          "GET /admin/v1" + path + " answered " + r.statusCode() + ": " + r.body());
    }
    return JSON.readTree(r.body());
  }

  /** The served model's name and context length. */
  JsonNode model() throws IOException, InterruptedException {
    return JSON.readTree(
            http.send(
                    HttpRequest.newBuilder(base.resolve("/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString())
                .body())
        .path("data")
        .path(0);
  }

  /** Roles alive now and the planner's last forecast, at {@code atS} seconds into the day. */
  TidalChart.Point sample(double atS, boolean planner) throws IOException, InterruptedException {
    JsonNode roles = admin("/cluster").at("/instances/by_role");
    double forecast = Double.NaN;
    if (planner) {
      JsonNode g = admin("/planner").at("/last/groups/0/forecast/arrivalsPerS");
      forecast = g.isNumber() ? g.asDouble() : Double.NaN;
    }
    return new TidalChart.Point(
        atS, roles.at("/prefill/alive").asInt(), roles.at("/decode/alive").asInt(), forecast);
  }

  /** Flips the planner loop carried out that changed a role. */
  int flips() throws IOException, InterruptedException {
    return admin("/planner").at("/counts/flipsDone").asInt();
  }

  /**
   * The flip events (started with the planner's reasons, done with what was drained), each as
   * "seconds into the day instance detail", for the run's log.
   *
   * @param dayStart when the day's first request was due
   */
  List<String> flipLog(Instant dayStart) throws IOException, InterruptedException {
    List<String> lines = new ArrayList<>();
    long after = 0;
    while (true) {
      JsonNode page = admin("/events?limit=1000&after=" + after);
      for (JsonNode e : page.path("data")) {
        if (e.path("kind").asText().equals("flip")) {
          double at =
              Duration.between(dayStart, Instant.parse(e.path("time").asText())).toMillis() / 1e3;
          lines.add(
              String.format(
                  Locale.ROOT,
                  "%7.1f s  %-10s %s",
                  at,
                  e.path("instance").asText(),
                  e.path("detail").asText()));
        }
      }
      after = page.path("next").asLong();
      if (!page.path("has_more").asBoolean()) {
        return lines;
      }
    }
  }

  @Override
  public void close() {
    Processes.stop(local, Duration.ofSeconds(30));
  }
}
