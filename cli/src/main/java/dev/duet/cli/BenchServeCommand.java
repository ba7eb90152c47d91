package dev.duet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.cli.load.Percentiles;
import dev.duet.cli.load.ServeLoad;
import dev.duet.cli.load.Workload;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code duet bench serve}: open-loop load against a running cluster. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Open-loop load (Poisson arrivals) against a running Duet (or any OpenAI-compatible server"
          + " with a /metrics gateway-overhead summary): TTFT and TPOT p50/p99, throughput, goodput"
          + " under the SLOs, and the controller's own added latency p50/p99.",
      "Prompt and output lengths come from the Azure LLM traces in --traces (azure-conv,"
          + " azure-code) or a synthetic range, capped to fit the model's context."
    })
final class BenchServeCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--url", defaultValue = "http://127.0.0.1:8080", description = "The server.")
  URI url;

  @Option(
      names = "--workload",
      defaultValue = "synthetic",
      description = "synthetic, azure-conv or azure-code (default: ${DEFAULT-VALUE}).")
  String workload;

  @Option(
      names = "--traces",
      defaultValue = "../shared/traces",
      description = "Directory of the Azure trace CSVs (default: ${DEFAULT-VALUE}).")
  Path traces;

  @Option(
      names = "--max-output",
      defaultValue = "0",
      description =
          "Cap every request's output tokens (0: none). Short outputs measure the gateway at high"
              + " request rates on few cores, where token streaming would saturate them.")
  int maxOutput;

  @Option(names = "--rate", defaultValue = "2", description = "Requests per second.")
  double rate;

  @Option(names = "--duration", defaultValue = "30", description = "Seconds of arrivals.")
  double duration;

  @Option(names = "--seed", defaultValue = "1", description = "Arrivals and lengths seed.")
  long seed;

  @Option(names = "--slo-ttft-ms", defaultValue = "2000", description = "TTFT SLO for goodput.")
  double sloTtftMs;

  @Option(names = "--slo-tpot-ms", defaultValue = "200", description = "TPOT SLO for goodput.")
  double sloTpotMs;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    HttpResponse<String> models =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(url.resolve("/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString());
    JsonNode m = mapper.readTree(models.body()).path("data").path(0);
    String model = m.path("id").asText();
    int context = m.path("max_model_len").asInt(2048);
    Workload w =
        switch (workload) {
          case "synthetic" -> Workload.synthetic();
          case "azure-conv" -> Workload.trace(workload, traces.resolve("azure-llm-2023-conv.csv"));
          case "azure-code" -> Workload.trace(workload, traces.resolve("azure-llm-2023-code.csv"));
          default ->
              throw new IllegalArgumentException(
                  "--workload must be synthetic, azure-conv or azure-code, not " + workload);
        };
    if (maxOutput > 0) {
      w = w.capOutput(maxOutput);
    }
    System.err.printf(
        "bench serve: %s at %.1f req/s for %.0f s against %s (model %s, context %d)%n",
        w.name(), rate, duration, url, model, context);
    ServeLoad load =
        new ServeLoad(
            url,
            model,
            context,
            w,
            rate,
            Duration.ofMillis((long) (duration * 1000)),
            seed,
            Duration.ofNanos((long) (sloTtftMs * 1e6)),
            Duration.ofNanos((long) (sloTpotMs * 1e6)));
    ServeLoad.Result r = load.run();
    double gw50 = load.gatewayOverheadMs("0.5");
    double gw99 = load.gatewayOverheadMs("0.99");
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      ObjectNode o = mapper.createObjectNode();
      o.put("workload", w.name());
      o.put("rate", rate);
      o.put("sent", r.sent());
      o.put("ok", r.ok());
      o.put("failed", r.failed());
      o.put("seconds", r.seconds());
      o.put("throughput_rps", r.ok() / r.seconds());
      o.put("output_tokens_per_s", r.outputTokens() / r.seconds());
      o.put("goodput_rps", r.good() / r.seconds());
      put(o, "ttft_ms", r.ttftMs());
      put(o, "tpot_ms", r.tpotMs());
      put(o, "e2e_ms", r.e2eMs());
      o.put("gateway_overhead_ms_p50", gw50);
      o.put("gateway_overhead_ms_p99", gw99);
      out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    } else {
      out.printf(
          Locale.ROOT,
          "requests      %d sent, %d ok, %d failed in %.1f s%n",
          r.sent(),
          r.ok(),
          r.failed(),
          r.seconds());
      out.printf(
          Locale.ROOT,
          "throughput    %.2f req/s, %.1f output tokens/s%n",
          r.ok() / r.seconds(),
          r.outputTokens() / r.seconds());
      out.printf(
          Locale.ROOT,
          "goodput       %.2f req/s within TTFT %.0f ms and TPOT %.0f ms (%d of %d)%n",
          r.good() / r.seconds(),
          sloTtftMs,
          sloTpotMs,
          r.good(),
          r.ok());
      out.printf(Locale.ROOT, "%-13s %10s %10s%n", "", "p50 ms", "p99 ms");
      row(out, "TTFT", r.ttftMs());
      row(out, "TPOT", r.tpotMs());
      row(out, "end to end", r.e2eMs());
      out.printf(Locale.ROOT, "%-13s %10.3f %10.3f%n", "gateway", gw50, gw99);
    }
    out.flush();
    return r.failed() == 0 ? 0 : 1;
  }

  private static void row(PrintWriter out, String name, Percentiles p) {
    out.printf(Locale.ROOT, "%-13s %10.1f %10.1f%n", name, p.at(50), p.at(99));
  }

  private static void put(ObjectNode o, String name, Percentiles p) {
    o.put(name + "_p50", p.at(50));
    o.put(name + "_p99", p.at(99));
  }
}
