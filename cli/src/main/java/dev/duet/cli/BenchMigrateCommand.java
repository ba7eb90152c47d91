package dev.duet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.cli.load.Percentiles;
import dev.duet.cli.load.ServeLoad;
import dev.duet.cli.load.Workload;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code duet bench migrate}: live migration's downtime and total time against sequence length, and
 * a skewed load with and without the rebalancer, on a cluster of emulated GPUs it starts as child
 * processes.
 */
@Command(
    name = "migrate",
    mixinStandardHelpOptions = true,
    description = {
      "Live migration on a cluster of emulated H100s serving Llama-3-8B (--engine sim) that it"
          + " starts as child processes: a controller, a prefill and two decode workers.",
      "1. Downtime (freeze on the source to first token on the target) and total migration time"
          + " against sequence length, KV sized like Llama-3-8B's (128 KiB per token; --kv-scale"
          + " divides it).",
      "2. A skewed load (one decode worker cordoned while the first third of the arrivals land)"
          + " run without and with the rebalancer: TTFT p99 and TPOT p50/p99."
    })
final class BenchMigrateCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(
      names = "--lengths",
      split = ",",
      defaultValue = "128,512,2048,8192",
      description = "Sequence lengths at migration (default: ${DEFAULT-VALUE}).")
  List<Integer> lengths;

  @Option(
      names = "--repeats",
      defaultValue = "5",
      description = "Migrations per length (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(
      names = "--kv-scale",
      defaultValue = "1",
      description =
          "Divide the real per-token KV size (128 KiB) by this for part 1 (default:"
              + " ${DEFAULT-VALUE}: the real size; part 2 always uses 16).")
  int kvScale;

  @Option(
      names = "--skew-rate",
      defaultValue = "8",
      description = "Arrivals per second in part 2 (default: ${DEFAULT-VALUE}; 0 skips part 2).")
  double skewRate;

  @Option(
      names = "--skew-duration",
      defaultValue = "30",
      description = "Seconds of arrivals in part 2 (default: ${DEFAULT-VALUE}).")
  int skewDuration;

  @Option(names = "--json", description = "Print one JSON object instead of tables.")
  boolean json;

  private final HttpClient http = HttpClient.newHttpClient();

  /** One migration measured. */
  private record Sample(double downtimeMs, double totalMs, int stages, long bytes) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    ObjectNode report = JSON.createObjectNode();
    Path log = Files.createTempFile("duet-bench-migrate", ".log");
    System.err.println("bench migrate: cluster logs in " + log);
    report.set("downtime", downtimes(log));
    if (skewRate > 0) {
      ArrayNode skew = report.putArray("skewed_load");
      for (boolean rebalance : new boolean[] {false, true}) {
        skew.add(skewed(rebalance, log));
      }
    }
    if (json) {
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report));
    } else {
      print(out, report);
    }
    return 0;
  }

  private ArrayNode downtimes(Path log) throws Exception {
    int longest = lengths.stream().mapToInt(Integer::intValue).max().orElse(128);
    // Each decode pool holds one sequence of the longest length (plus a block of slack).
    long perToken = 128L * 1024 / kvScale;
    long kvMb = Math.max(64, (longest + 400) * perToken / (1 << 20) + 16);
    String model = "sim:h100-llama3-8b:" + kvScale;
    ArrayNode rows = JSON.createArrayNode();
    System.err.printf(
        "bench migrate: part 1, %d KiB of KV per token, %d MB of KV per worker%n",
        perToken / 1024, kvMb);
    try (ProcessCluster c =
        new ProcessCluster(
            model,
            List.of("prefill", "decode", "decode"),
            List.of(),
            List.of("--kv-memory-mb", String.valueOf(kvMb)),
            log)) {
      SplittableRandom random = new SplittableRandom(1);
      migrateOnce(c, 128, random); // warm-up: the first migration of fresh JVMs is not measured
      for (int length : lengths) {
        List<Sample> samples = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
          samples.add(migrateOnce(c, length, random));
        }
        ObjectNode row = rows.addObject();
        row.put("sequence_tokens", length);
        row.put("kv_mib", length * perToken / (double) (1 << 20));
        Percentiles down =
            new Percentiles(samples.stream().mapToDouble(Sample::downtimeMs).toArray());
        Percentiles total =
            new Percentiles(samples.stream().mapToDouble(Sample::totalMs).toArray());
        row.put("downtime_ms_p50", down.at(50));
        row.put("downtime_ms_p99", down.at(99));
        row.put("total_ms_p50", total.at(50));
        row.put("total_ms_p99", total.at(99));
        row.put("stages_max", samples.stream().mapToInt(Sample::stages).max().orElse(0));
        System.err.printf(
            Locale.ROOT,
            "  %5d tokens: downtime p50 %.1f ms p99 %.1f ms, total p50 %.0f ms%n",
            length,
            down.at(50),
            down.at(99),
            total.at(50));
      }
    }
    return rows;
  }

  /** A request of about {@code length} tokens, migrated once while it decodes. */
  private Sample migrateOnce(ProcessCluster c, int length, SplittableRandom random)
      throws Exception {
    // Long enough that it is still decoding when the migration comes (the profile's context is
    // 8192, so the longest prompts leave room for it).
    int output = 400;
    int[] prompt = new int[Math.max(1, Math.min(length - 8, 8192 - output - 1))];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = 3 + random.nextInt(30000);
    }
    ObjectNode body = JSON.createObjectNode();
    body.put("model", "bench");
    body.set("prompt", JSON.valueToTree(prompt));
    body.put("max_tokens", output);
    body.put("ignore_eos", true);
    body.put("stream", true);
    HttpResponse<java.io.InputStream> r =
        http.send(
            HttpRequest.newBuilder(c.url().resolve("/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    if (r.statusCode() != 200) {
      throw new IllegalStateException(
          "the request was refused: "
              + r.statusCode()
              + " "
              + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
    }
    BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
    String id = null;
    int events = 0;
    while (events < 3) {
      String line = in.readLine();
      if (line == null) {
        throw new IllegalStateException("the stream ended before the migration");
      }
      if (line.startsWith("data: {")) {
        id = JSON.readTree(line.substring(6)).path("id").asText();
        events++;
      }
    }
    long t0 = System.nanoTime();
    HttpResponse<String> m = c.admin("/requests/" + id + "/migrate", "{}");
    double totalMs = (System.nanoTime() - t0) / 1e6;
    JsonNode res = JSON.readTree(m.body());
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.contains("\"error\"")) {
        throw new IllegalStateException("the stream failed after the migration: " + line);
      }
    }
    if (m.statusCode() != 200) {
      throw new IllegalStateException("migration of " + id + " failed: " + m.body());
    }
    return new Sample(
        res.path("downtime_ms").asDouble(),
        totalMs,
        res.path("stages").asInt(),
        res.path("bytes").asLong());
  }

  private ObjectNode skewed(boolean rebalance, Path log) throws Exception {
    Path policy = Files.createTempFile("duet-bench-policy", ".yaml");
    Files.writeString(
        policy,
        "rebalancer:\n  enabled: "
            + rebalance
            + "\n  periodMs: 500\n  freeness: {low: 100, high: 400}\n"
            + "  maxConcurrentMigrations: 4\n");
    System.err.printf(
        "bench migrate: part 2, skewed load %s the rebalancer%n", rebalance ? "with" : "without");
    try (ProcessCluster c =
        new ProcessCluster(
            "sim:h100-llama3-8b:16",
            List.of("prefill", "decode", "decode"),
            List.of("--policy", policy.toString()),
            List.of("--kv-memory-mb", "512"),
            log)) {
      String cordoned = c.instances("decode").get(1);
      c.admin("/instances/" + cordoned + "/cordon", "{}");
      ServeLoad load =
          new ServeLoad(
              c.url(),
              "bench",
              8192,
              Workload.uniform("long-output", 512, 1024, 256, 640),
              skewRate,
              Duration.ofSeconds(skewDuration),
              7,
              Duration.ofSeconds(2),
              Duration.ofMillis(50));
      CompletableFuture<ServeLoad.Result> run =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return load.run();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  throw new IllegalStateException(e);
                }
              });
      Thread.sleep(skewDuration * 1000L / 3);
      c.admin("/instances/" + cordoned + "/uncordon", "{}");
      ServeLoad.Result r = run.get();
      ObjectNode o = JSON.createObjectNode();
      o.put("rebalancer", rebalance);
      o.put("sent", r.sent());
      o.put("ok", r.ok());
      o.put("failed", r.failed());
      o.put("ttft_ms_p99", r.ttftMs().at(99));
      o.put("tpot_ms_p50", r.tpotMs().at(50));
      o.put("tpot_ms_p99", r.tpotMs().at(99));
      o.put("migrations", migrations(c));
      return o;
    } finally {
      Files.deleteIfExists(policy);
    }
  }

  private double migrations(ProcessCluster c) throws Exception {
    String metrics =
        http.send(
                HttpRequest.newBuilder(c.url().resolve("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    for (String line : metrics.split("\n")) {
      if (line.startsWith("duet_migrations_total{outcome=\"migrated\"}")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }

  private static void print(PrintWriter out, ObjectNode report) {
    out.println("live migration: downtime (freeze → first token on the target) and total time");
    out.printf(
        "%10s %10s %14s %14s %12s %12s %7s%n",
        "tokens", "KV MiB", "downtime p50", "downtime p99", "total p50", "total p99", "stages");
    double shortest = Double.NaN;
    double longest = Double.NaN;
    for (JsonNode row : report.path("downtime")) {
      out.printf(
          Locale.ROOT,
          "%10d %10.1f %11.2f ms %11.2f ms %9.0f ms %9.0f ms %7d%n",
          row.path("sequence_tokens").asInt(),
          row.path("kv_mib").asDouble(),
          row.path("downtime_ms_p50").asDouble(),
          row.path("downtime_ms_p99").asDouble(),
          row.path("total_ms_p50").asDouble(),
          row.path("total_ms_p99").asDouble(),
          row.path("stages_max").asInt());
      double p99 = row.path("downtime_ms_p99").asDouble();
      shortest = Double.isNaN(shortest) ? p99 : shortest;
      longest = p99;
    }
    out.printf(
        Locale.ROOT,
        "longest/shortest downtime p99: %.2fx (target ≤ 2x; p99 ≤ 20 ms)%n",
        longest / shortest);
    if (report.has("skewed_load")) {
      out.println();
      out.println("skewed load (one decode worker cordoned for the first third of the arrivals)");
      out.printf(
          "%12s %6s %6s %7s %12s %12s %12s %11s%n",
          "rebalancer", "sent", "ok", "refused", "TTFT p99", "TPOT p50", "TPOT p99", "migrations");
      for (JsonNode s : report.path("skewed_load")) {
        out.printf(
            Locale.ROOT,
            "%12s %6d %6d %7d %9.0f ms %9.2f ms %9.2f ms %11.0f%n",
            s.path("rebalancer").asBoolean() ? "on" : "off",
            s.path("sent").asInt(),
            s.path("ok").asInt(),
            s.path("failed").asInt(),
            s.path("ttft_ms_p99").asDouble(),
            s.path("tpot_ms_p50").asDouble(),
            s.path("tpot_ms_p99").asDouble(),
            s.path("migrations").asDouble());
      }
    }
  }
}
