package dev.duet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.cli.load.Percentiles;
import dev.duet.cli.load.TidalChart;
import dev.duet.cli.load.TidalDay;
import dev.duet.cli.load.TidalLoad;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code duet bench tidal}: the tidal planner against the best static P:D ratio. */
@Command(
    name = "tidal",
    mixinStandardHelpOptions = true,
    description = {
      "A compressed day of traffic whose volume and prompt/output mix swing (a prompt-heavy peak,"
          + " a trough, an output-heavy peak, a trough; lengths from the Azure code and"
          + " conversation traces in --traces, else synthetic) against a fixed budget of --workers"
          + " emulated-GPU workers (duet local --engine sim): once per static prefill:decode ratio"
          + " in --ratios, then with the tidal planner (duet local --planner). Prints SLO"
          + " attainment, goodput (requests within both SLOs per second), p99 TTFT and TPOT, flips"
          + " and failed requests, and writes an SVG of load, forecast and P:D ratio over time.",
      "The planner run needs in-place role flips in the controller; without them it stops with"
          + " an error before any load is sent."
    })
final class BenchTidalCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--minutes", defaultValue = "10", description = "Length of the day.")
  double minutes;

  @Option(names = "--workers", defaultValue = "8", description = "Workers (the budget).")
  int workers;

  @Option(
      names = "--ratios",
      split = ",",
      description =
          "Static ratios to try, PREFILL:DECODE (default: every split of --workers with at least"
              + " two of each).")
  List<String> ratios;

  @Option(names = "--profile", defaultValue = "h100-llama3-8b", description = "Sim profile.")
  String profile;

  @Option(names = "--peak-rate", defaultValue = "12", description = "Requests/s at a peak.")
  double peakRate;

  @Option(
      names = "--trough",
      defaultValue = "0.15",
      description = "A trough's rate as a fraction of the peak's.")
  double trough;

  @Option(names = "--slo-ttft-ms", defaultValue = "2000", description = "TTFT SLO.")
  double sloTtftMs;

  @Option(names = "--slo-tpot-ms", defaultValue = "100", description = "TPOT SLO.")
  double sloTpotMs;

  @Option(names = "--traces", defaultValue = "../shared/traces", description = "Trace CSVs.")
  Path traces;

  @Option(names = "--seed", defaultValue = "1", description = "Arrivals and lengths seed.")
  long seed;

  @Option(names = "--svg", defaultValue = "tidal.svg", description = "Where the chart goes.")
  Path svg;

  @Option(names = "--no-planner", description = "Run only the static ratios.")
  boolean noPlanner;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  /** One run's figures. */
  record Run(
      String name,
      List<TidalLoad.Request> requests,
      List<TidalChart.Point> timeline,
      int flips,
      double seconds,
      double sloTtftMs,
      double sloTpotMs) {
    long good() {
      return requests.stream().filter(r -> r.good(sloTtftMs, sloTpotMs)).count();
    }

    long failed() {
      return requests.stream().filter(r -> !r.ok()).count();
    }

    double goodput() {
      return good() / seconds;
    }

    double attainment() {
      return requests.isEmpty() ? 0 : (double) good() / requests.size();
    }

    double p99(boolean ttft) {
      return new Percentiles(
              requests.stream()
                  .filter(TidalLoad.Request::ok)
                  .mapToDouble(r -> ttft ? r.ttftMs() : r.tpotMs())
                  .toArray())
          .at(99);
    }
  }

  @Override
  public Integer call() throws Exception {
    if (workers < 4 || !(minutes > 0)) {
      throw new IllegalArgumentException(
          "--workers must be >= 4 and --minutes > 0; got " + workers + ", " + minutes);
    }
    TidalDay day = TidalDay.of(minutes * 60, peakRate, trough, traces);
    Path dir = Files.createTempDirectory("duet-bench-tidal");
    System.err.printf(
        "bench tidal: a %.1f-minute day, %s / %s, peak %.1f req/s, %d %s workers; logs in %s%n",
        minutes,
        day.promptHeavy().name(),
        day.outputHeavy().name(),
        peakRate,
        workers,
        profile,
        dir);
    List<Run> runs = new ArrayList<>();
    Run planned = null;
    if (!noPlanner) {
      Path policy = dir.resolve("policy.yaml");
      Files.writeString(policy, policy());
      planned = run("planner", workers / 2, workers - workers / 2, policy, day, dir);
    }
    for (String r : ratios != null ? ratios : defaultRatios()) {
      String[] pd = r.split(":");
      if (pd.length != 2) {
        throw new IllegalArgumentException("--ratios takes PREFILL:DECODE, got '" + r + "'");
      }
      runs.add(run(r, Integer.parseInt(pd[0]), Integer.parseInt(pd[1]), null, day, dir));
    }
    Run best = Collections.max(runs, java.util.Comparator.comparingDouble(Run::goodput));
    Files.writeString(
        svg,
        TidalChart.svg(
            day,
            (planned != null ? planned : best).requests(),
            planned != null ? planned.timeline() : List.of(),
            best.timeline(),
            best.name()));
    report(runs, best, planned);
    return planned == null || planned.failed() == 0 ? 0 : 1;
  }

  private List<String> defaultRatios() {
    List<String> r = new ArrayList<>();
    for (int p = 2; p <= workers - 2; p++) {
      r.add(p + ":" + (workers - p));
    }
    return r;
  }

  /** The planner's policy for a compressed day: its period is the day, its interval 1/60 of it. */
  String policy() {
    long day = Math.round(minutes * 60);
    long interval = Math.max(5, day / 60);
    return String.format(
        Locale.ROOT,
        """
        slo: {ttftMs: %.0f, tpotMs: %.0f}
        roles: {prefill: {min: 1, max: %d}, decode: {min: 1, max: %d}}
        budget: {maxInstances: %d}
        planner:
          intervalSeconds: %d
          predictor: {periodSeconds: %d, buckets: 30, trendWindow: 4}
          cooldowns: {flipSeconds: %d, scaleSeconds: %d}
          maxFlipsPerInterval: 2
        """,
        sloTtftMs,
        sloTpotMs,
        workers - 1,
        workers - 1,
        workers,
        interval,
        day,
        2 * interval,
        6 * interval);
  }

  private Run run(String name, int prefill, int decode, Path policy, TidalDay day, Path dir)
      throws Exception {
    System.err.printf("bench tidal: %s (%d prefill, %d decode)...%n", name, prefill, decode);
    try (TidalCluster c =
        TidalCluster.start(
            profile, prefill, decode, policy, dir.resolve(name.replace(':', '-') + ".log"), 180)) {
      boolean planner = policy != null;
      if (planner && !c.admin("/planner").path("flips_available").asBoolean()) {
        throw new IllegalStateException(
            "the controller has no in-place role flips (GET /admin/v1/planner: flips_available"
                + " false): the planner run needs them (the RoleFlipper implementation); run the"
                + " static ratios alone with --no-planner");
      }
      var m = c.model();
      TidalLoad load =
          new TidalLoad(c.base, m.path("id").asText(), m.path("max_model_len").asInt());
      List<TidalChart.Point> timeline = Collections.synchronizedList(new ArrayList<>());
      long t0 = System.nanoTime();
      Thread sampler =
          Thread.ofVirtual()
              .start(
                  () -> {
                    while (!Thread.currentThread().isInterrupted()) {
                      try {
                        timeline.add(c.sample((System.nanoTime() - t0) / 1e9, planner));
                        Thread.sleep(2000);
                      } catch (InterruptedException e) {
                        return;
                      } catch (Exception e) {
                        // a sample missed while the controller is busy; the next one comes
                      }
                    }
                  });
      List<TidalLoad.Request> requests = load.run(day, seed);
      sampler.interrupt();
      sampler.join();
      Run r =
          new Run(
              name,
              requests,
              List.copyOf(timeline),
              planner ? c.flips() : 0,
              day.daySeconds(),
              sloTtftMs,
              sloTpotMs);
      System.err.printf(
          Locale.ROOT,
          "bench tidal: %s: goodput %.2f req/s, attainment %.1f%%, %d failed%n",
          name,
          r.goodput(),
          100 * r.attainment(),
          r.failed());
      return r;
    }
  }

  private void report(List<Run> runs, Run best, Run planned) throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    List<Run> all = new ArrayList<>(runs);
    if (planned != null) {
      all.add(planned);
    }
    if (json) {
      ObjectMapper mapper = new ObjectMapper();
      ObjectNode o = mapper.createObjectNode();
      o.put("minutes", minutes);
      o.put("workers", workers);
      o.put("peak_rate", peakRate);
      o.put("slo_ttft_ms", sloTtftMs);
      o.put("slo_tpot_ms", sloTpotMs);
      o.put("best_static", best.name());
      if (planned != null) {
        o.put("planner_vs_best_static_goodput", planned.goodput() / best.goodput());
      }
      ArrayNode a = o.putArray("runs");
      for (Run r : all) {
        ObjectNode x = a.addObject();
        x.put("name", r.name());
        x.put("requests", r.requests().size());
        x.put("failed", r.failed());
        x.put("slo_attainment", r.attainment());
        x.put("goodput_rps", r.goodput());
        x.put("ttft_ms_p99", r.p99(true));
        x.put("tpot_ms_p99", r.p99(false));
        x.put("flips", r.flips());
      }
      o.put("svg", svg.toString());
      out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    } else {
      out.printf(
          Locale.ROOT,
          "%-10s %8s %7s %10s %12s %12s %12s %6s%n",
          "run",
          "requests",
          "failed",
          "attainment",
          "goodput r/s",
          "p99 TTFT ms",
          "p99 TPOT ms",
          "flips");
      for (Run r : all) {
        out.printf(
            Locale.ROOT,
            "%-10s %8d %7d %9.1f%% %12.2f %12.1f %12.1f %6d%s%n",
            r.name(),
            r.requests().size(),
            r.failed(),
            100 * r.attainment(),
            r.goodput(),
            r.p99(true),
            r.p99(false),
            r.flips(),
            r == best ? "  (best static)" : "");
      }
      if (planned != null) {
        out.printf(
            Locale.ROOT,
            "planner goodput / best static (%s): %.2fx (target >= 1.3x with 0 failed)%n",
            best.name(),
            planned.goodput() / best.goodput());
      }
      out.printf("chart: %s%n", svg);
    }
    out.flush();
  }
}
