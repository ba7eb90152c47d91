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
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
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
          + " a trough, an output-heavy peak, a trough; lengths from the Azure code trace's long"
          + " prompts and the conversation trace's long answers (--output-heavy) in --traces, else"
          + " synthetic)"
          + " against a fixed budget of --workers emulated-GPU workers (duet local --engine sim):"
          + " at each --peak-rate, with the tidal planner (duet local --planner, flips only) and"
          + " once per static prefill:decode ratio in --ratios. Prints each run's SLO attainment,"
          + " requests within both SLOs per second, p99 TTFT and TPOT, flips and failed requests"
          + " (and why each failed), then each configuration's goodput, and writes an SVG of"
          + " load, forecast and P:D ratio over the highest rate's day.",
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

  @Option(
      names = "--peak-rate",
      split = ",",
      defaultValue = "13,16",
      description =
          "Requests/s at a peak; several (comma-separated, rising) run the day at each and report"
              + " each run's goodput the way DistServe defines it: the highest peak rate at which"
              + " it keeps --attainment of its requests within both SLOs (interpolated).")
  List<Double> peakRates;

  @Option(
      names = "--attainment",
      defaultValue = "0.9",
      description = "The SLO attainment goodput asks for.")
  double attainment;

  @Option(
      names = "--sim-speedup",
      defaultValue = "0.2",
      description =
          "Speed of the emulated GPUs (1: the profile's). Below 1 a peak saturates the budget at a"
              + " request rate 2 shared cores can carry.")
  double simSpeedup;

  @Option(
      names = "--kv-scale",
      defaultValue = "64",
      description =
          "Divide the profile's real KV size per token by this (duet local --kv-scale): 64 keeps"
              + " an H100's KV capacity in tokens within a sim worker's 256 MB.")
  int kvScale;

  @Option(
      names = "--kv-memory-mb",
      defaultValue = "0",
      description =
          "KV memory of each sim worker (duet local --kv-memory-mb; 0: its default, 256 MB, which"
              + " at --kv-scale 64 holds ~125k tokens; an 80 GB H100 serving Llama-3-8B at vLLM's"
              + " default 0.9 memory utilization holds ~400k, 800 MB at --kv-scale 64).")
  long kvMemoryMb;

  @Option(
      names = "--token-budget",
      defaultValue = "4096",
      description =
          "Rows a worker's forward pass takes (vLLM's max_num_batched_tokens): a prompt of up to"
              + " this many tokens prefills in one pass.")
  int tokenBudget;

  @Option(
      names = "--trough",
      defaultValue = "0.15",
      description = "A trough's rate as a fraction of the peak's.")
  double trough;

  @Option(names = "--slo-ttft-ms", defaultValue = "2000", description = "TTFT SLO.")
  double sloTtftMs;

  @Option(names = "--slo-tpot-ms", defaultValue = "100", description = "TPOT SLO.")
  double sloTpotMs;

  @Option(
      names = "--admission-ms",
      defaultValue = "0",
      description =
          "The policy's admission.ttftBudgetMs for every run: a request waits at most this long for"
              + " KV room and is refused by prefill instances that cannot start it within what is"
              + " left; a refusal is a failed request (0: the TTFT SLO, the policy's default:"
              + " refuse what would miss it anyway).")
  double admissionMs;

  @Option(
      names = "--tpot-batch-cap",
      description =
          "Turn on the policy's admission.tpotBatchCap for every run (off by default, as in the"
              + " policy): the gateway routes to a decode instance only while it runs fewer streams"
              + " than its TPOT SLO allows at its measured pass time, and a request waits for room"
              + " otherwise.")
  boolean tpotBatchCap;

  @Option(names = "--traces", defaultValue = "../shared/traces", description = "Trace CSVs.")
  Path traces;

  @Option(
      names = "--output-heavy",
      defaultValue = "long-answers",
      description =
          "Which conversation requests make the output-heavy peak: long-answers (answers of at"
              + " least 256 tokens, a third of the trace: mean 1080 prompt, 425 output tokens) or"
              + " short-prompts (prompts of at most 1024 tokens, half of it: mean 460 prompt, 158"
              + " output tokens, which an instance decodes by the hundred).")
  String outputHeavy;

  @Option(names = "--seed", defaultValue = "1", description = "Arrivals and lengths seed.")
  long seed;

  @Option(names = "--svg", defaultValue = "tidal.svg", description = "Where the chart goes.")
  Path svg;

  @Option(
      names = "--warmup-days",
      defaultValue = "1",
      description =
          "Days the planner run plays before the measured one, with other arrivals of the same"
              + " tide, so that its predictor has seen a whole period, as a planner in service has"
              + " (static ratios learn nothing: they get 30 s of the same mix at a third of the"
              + " peak, unmeasured, to warm their workers). 0: measure its first day.")
  int warmupDays;

  @Option(names = "--no-planner", description = "Run only the static ratios.")
  boolean noPlanner;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  /** One run's figures. */
  record Run(
      String name,
      double peakRate,
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
    if (workers < 4 || !(minutes > 0) || peakRates.isEmpty()) {
      throw new IllegalArgumentException(
          "--workers must be >= 4, --minutes > 0 and --peak-rate given; got "
              + workers
              + ", "
              + minutes
              + ", "
              + peakRates);
    }
    List<Double> rates = peakRates.stream().sorted().toList();
    Path dir = Files.createTempDirectory("duet-bench-tidal");
    TidalDay first = day(rates.getFirst());
    System.err.printf(
        Locale.ROOT,
        "bench tidal: a %.1f-minute day, %s / %s, peaks of %s req/s, %d %s workers at %.2fx speed;"
            + " logs in %s%n",
        minutes,
        first.promptHeavy().name(),
        first.outputHeavy().name(),
        rates,
        workers,
        profile,
        simSpeedup,
        dir);
    List<String> names = new ArrayList<>();
    if (!noPlanner) {
      names.add(PLANNER);
    }
    names.addAll(ratios != null ? ratios : defaultRatios());
    Path policy = dir.resolve("policy.yaml");
    Files.writeString(policy, policy());
    List<Run> runs = new ArrayList<>();
    for (double rate : rates) {
      TidalDay day = day(rate);
      for (String name : names) {
        if (name.equals(PLANNER)) {
          runs.add(run(name, workers / 2, workers - workers / 2, policy, true, day, dir));
          continue;
        }
        String[] pd = name.split(":");
        if (pd.length != 2) {
          throw new IllegalArgumentException("--ratios takes PREFILL:DECODE, got '" + name + "'");
        }
        runs.add(
            run(name, Integer.parseInt(pd[0]), Integer.parseInt(pd[1]), policy, false, day, dir));
      }
    }
    List<Goodput> goodputs = names.stream().map(n -> goodput(n, runs)).toList();
    Goodput best =
        goodputs.stream()
            .filter(g -> !g.name().equals(PLANNER))
            .max(Comparator.comparingDouble(Goodput::value))
            .orElseThrow();
    Goodput planned =
        goodputs.stream().filter(g -> g.name().equals(PLANNER)).findFirst().orElse(null);
    chart(runs, best, rates);
    report(runs, goodputs, best, planned);
    if (planned == null) {
      return 0;
    }
    // the planner must fail nothing at any rate up to its goodput
    return runs.stream()
            .filter(r -> r.name().equals(PLANNER) && r.peakRate() <= Math.max(planned.value(), 0))
            .allMatch(r -> r.failed() == 0)
        ? 0
        : 1;
  }

  static final String PLANNER = "planner";

  /** Seconds of unmeasured traffic a static split gets before its day. */
  static final double STATIC_WARMUP_S = 30;

  /**
   * A configuration's goodput. With one peak rate: requests within both SLOs per second of the day.
   * With several: DistServe's, the highest peak rate at which the day keeps {@code attainment} of
   * its requests within both SLOs, interpolated linearly between the last rate that does and the
   * first that does not (0 when even the lowest does not; the highest rate when all do, marked
   * open).
   *
   * @param unit "req/s" or "peak req/s"
   * @param open whether the true value may be higher (every rate tried met the attainment)
   */
  record Goodput(String name, double value, String unit, boolean open) {}

  Goodput goodput(String name, List<Run> runs) {
    List<Run> mine = runs.stream().filter(r -> r.name().equals(name)).toList();
    if (mine.size() == 1) {
      return new Goodput(name, mine.getFirst().goodput(), "req/s", false);
    }
    Run lastMet = null;
    for (Run r : mine) {
      if (r.attainment() >= attainment) {
        lastMet = r;
        continue;
      }
      if (lastMet == null) {
        return new Goodput(name, 0, "peak req/s", false);
      }
      double f = (lastMet.attainment() - attainment) / (lastMet.attainment() - r.attainment());
      return new Goodput(
          name, lastMet.peakRate() + f * (r.peakRate() - lastMet.peakRate()), "peak req/s", false);
    }
    return new Goodput(name, mine.getLast().peakRate(), "peak req/s", true);
  }

  /** The chart of the highest rate the planner ran, with the best static run of that rate. */
  private void chart(List<Run> runs, Goodput best, List<Double> rates) throws Exception {
    double rate = rates.getLast();
    Run staticRun =
        runs.stream()
            .filter(r -> r.peakRate() == rate && r.name().equals(best.name()))
            .findFirst()
            .orElseThrow();
    Run planned =
        runs.stream()
            .filter(r -> r.peakRate() == rate && r.name().equals(PLANNER))
            .findFirst()
            .orElse(null);
    Files.writeString(
        svg,
        TidalChart.svg(
            day(rate),
            (planned != null ? planned : staticRun).requests(),
            planned != null ? planned.timeline() : List.of(),
            staticRun.timeline(),
            staticRun.name()));
  }

  /** The day this bench plays, at a peak of {@code rate} requests per second. */
  private TidalDay day(double rate) {
    return TidalDay.of(minutes * 60, rate, trough, traces, TidalDay.OutputHeavy.of(outputHeavy));
  }

  private List<String> defaultRatios() {
    List<String> r = new ArrayList<>();
    for (int p = 2; p <= workers - 2; p++) {
      r.add(p + ":" + (workers - p));
    }
    return r;
  }

  /**
   * The policy of every run (the static ones use its SLOs and admission; the planner all of it):
   * the budget fixed at {@code --workers} (flips only, as the static runs have the same instances),
   * the period the day, the interval 1/60 of it, and admission at {@code --admission-ms}. The trend
   * window is 8 observations (40 s of a 3-minute day): with 4, the trend through four noisy
   * residuals, extrapolated up to 12 s past the newest, swung the horizon's forecast by tens of
   * percent (PredictorTest replays this tide: see docs/planner.md).
   */
  String policy() {
    long day = Math.round(minutes * 60);
    long interval = Math.max(5, day / 60);
    return String.format(
        Locale.ROOT,
        """
        slo: {ttftMs: %.0f, tpotMs: %.0f}
        roles: {prefill: {min: 1, max: %d}, decode: {min: 1, max: %d}}
        budget: {minInstances: %d, maxInstances: %d}
        admission: {ttftBudgetMs: %.0f, tpotBatchCap: %b}
        planner:
          intervalSeconds: %d
          predictor: {periodSeconds: %d, buckets: 30, trendWindow: 8}
          cooldowns: {flipSeconds: %d, scaleSeconds: %d}
          maxFlipsPerInterval: 2
        """,
        sloTtftMs,
        sloTpotMs,
        workers - 1,
        workers - 1,
        workers,
        workers,
        admissionMs > 0 ? admissionMs : sloTtftMs,
        tpotBatchCap,
        interval,
        day,
        2 * interval,
        6 * interval);
  }

  private Run run(
      String name, int prefill, int decode, Path policy, boolean planner, TidalDay day, Path dir)
      throws Exception {
    System.err.printf(
        Locale.ROOT,
        "bench tidal: %s at a %.1f req/s peak (%d prefill, %d decode)...%n",
        name,
        day.peakRate(),
        prefill,
        decode);
    List<String> engine =
        new java.util.ArrayList<>(
            List.of(
                "--engine",
                "sim",
                "--profile",
                profile,
                "--sim-speedup",
                String.valueOf(simSpeedup),
                "--kv-scale",
                String.valueOf(kvScale),
                "--token-budget",
                String.valueOf(tokenBudget)));
    if (kvMemoryMb > 0) {
      engine.addAll(List.of("--kv-memory-mb", String.valueOf(kvMemoryMb)));
    }
    String log = String.format(Locale.ROOT, "%s-%.1f.log", name.replace(':', '-'), day.peakRate());
    try (TidalCluster c =
        TidalCluster.start(engine, prefill, decode, policy, planner, dir.resolve(log), 180)) {
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
      // warm-up days and the measured one back to back, each a period after the one before
      long dayNanos = Math.round(day.daySeconds() * 1e9);
      long first = System.nanoTime();
      int warmups = planner ? warmupDays : 0;
      List<Thread> warming = new ArrayList<>();
      for (int k = 1; k <= warmups; k++) {
        int n = k;
        long start = first + (k - 1) * dayNanos;
        warming.add(inBackground(() -> warmUp(load, day, n, start, name)));
      }
      long t0 = first + warmups * dayNanos + (planner ? 0 : Math.round(STATIC_WARMUP_S * 1e9));
      if (!planner) {
        // the static split's own warm-up: a short day of the same mix at a third of the peak, so
        // that its workers' JIT and pass-time fits are warm when the measured day starts, as the
        // planner run's warm-up day leaves them (cold, 5:3 failed 9 requests in the first 15 s of
        // a 7 req/s day, at under 3.5 req/s)
        TidalDay brief =
            new TidalDay(
                STATIC_WARMUP_S,
                day.peakRate() / 3,
                day.trough(),
                day.promptHeavy(),
                day.outputHeavy());
        long start = first;
        warming.add(inBackground(() -> load.run(brief, seed + 999, start)));
      }
      long ahead = t0 - System.nanoTime();
      if (ahead > 0) {
        TimeUnit.NANOSECONDS.sleep(ahead);
      }
      int flipsBefore = planner ? c.flips() : 0;
      Instant dayStart = Instant.now();
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
      List<TidalLoad.Request> requests = load.run(day, seed, t0);
      sampler.interrupt();
      sampler.join();
      for (Thread w : warming) {
        w.join();
      }
      Run r =
          new Run(
              name,
              day.peakRate(),
              requests,
              List.copyOf(timeline),
              planner ? c.flips() - flipsBefore : 0,
              day.daySeconds(),
              sloTtftMs,
              sloTpotMs);
      System.err.printf(
          Locale.ROOT,
          "bench tidal: %s at %.1f: %.2f good req/s, attainment %.1f%%, %d failed%n",
          name,
          day.peakRate(),
          r.goodput(),
          100 * r.attainment(),
          r.failed());
      if (planner) {
        Path flips = dir.resolve(log.replace(".log", "-flips.txt"));
        Files.write(flips, c.flipLog(dayStart));
        System.err.printf(
            "bench tidal: %s: its flips, with the planner's reasons: %s%n", name, flips);
      }
      r.requests().stream()
          .filter(q -> !q.ok())
          .limit(20)
          .forEach(
              q ->
                  System.err.printf(
                      Locale.ROOT,
                      "bench tidal: %s: failed at %.1f s (%d prompt, %d output tokens): %s%n",
                      name,
                      q.atS(),
                      q.promptTokens(),
                      q.outputTokens(),
                      q.failure()));
      return r;
    }
  }

  /** Traffic played on a thread of its own: a day, which an interrupt cuts short. */
  private interface Traffic {
    void play() throws InterruptedException;
  }

  /** Starts {@code traffic} on a virtual thread (an interrupt ends it quietly). */
  private static Thread inBackground(Traffic traffic) {
    return Thread.ofVirtual()
        .start(
            () -> {
              try {
                traffic.play();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
  }

  /** Plays warm-up day {@code k} from {@code start}, unmeasured, and says how it went. */
  private void warmUp(TidalLoad load, TidalDay day, int k, long start, String name)
      throws InterruptedException {
    System.err.printf(
        "bench tidal: %s: warm-up day %d of %d (not measured: the predictor learns the tide)%n",
        name, k, warmupDays);
    List<TidalLoad.Request> seen = load.run(day, seed + 1000L * k, start);
    System.err.printf(
        Locale.ROOT,
        "bench tidal: %s: warm-up day %d: %d requests, %d failed%n",
        name,
        k,
        seen.size(),
        seen.stream().filter(q -> !q.ok()).count());
  }

  /**
   * The planner's goodput over the best static ratio's, or 0 when there is no planner run or no
   * static ratio met the attainment goal at any rate tried.
   */
  private static double ratio(Goodput planned, Goodput best) {
    return planned != null && best != null && best.value() > 0 ? planned.value() / best.value() : 0;
  }

  private void report(List<Run> runs, List<Goodput> goodputs, Goodput best, Goodput planned)
      throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      ObjectMapper mapper = new ObjectMapper();
      ObjectNode o = mapper.createObjectNode();
      o.put("minutes", minutes);
      o.put("workers", workers);
      o.put("sim_speedup", simSpeedup);
      o.put("slo_ttft_ms", sloTtftMs);
      o.put("slo_tpot_ms", sloTpotMs);
      o.put("admission_ms", admissionMs > 0 ? admissionMs : sloTtftMs);
      o.put("tpot_batch_cap", tpotBatchCap);
      o.put("output_heavy", outputHeavy);
      o.put("attainment_goal", attainment);
      o.put("best_static", best.name());
      ArrayNode g = o.putArray("goodput");
      for (Goodput x : goodputs) {
        g.addObject()
            .put("name", x.name())
            .put("value", x.value())
            .put("unit", x.unit())
            .put("open", x.open());
      }
      if (ratio(planned, best) > 0) {
        o.put("planner_vs_best_static_goodput", ratio(planned, best));
      } else if (planned != null) {
        o.putNull("planner_vs_best_static_goodput"); // no static ratio met the goal at any rate
      }
      ArrayNode a = o.putArray("runs");
      for (Run r : runs) {
        ObjectNode x = a.addObject();
        x.put("name", r.name());
        x.put("peak_rate", r.peakRate());
        x.put("requests", r.requests().size());
        x.put("failed", r.failed());
        x.put("slo_attainment", r.attainment());
        x.put("good_rps", r.goodput());
        x.put("ttft_ms_p99", r.p99(true));
        x.put("tpot_ms_p99", r.p99(false));
        x.put("flips", r.flips());
        ArrayNode failures = x.putArray("failures");
        r.requests().stream()
            .filter(q -> !q.ok())
            .forEach(q -> failures.addObject().put("at_s", q.atS()).put("reason", q.failure()));
      }
      o.put("svg", svg.toString());
      out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(o));
      out.flush();
      return;
    }
    out.printf(
        Locale.ROOT,
        "%-8s %6s %8s %7s %10s %9s %12s %12s %6s%n",
        "run",
        "peak",
        "requests",
        "failed",
        "attainment",
        "good r/s",
        "p99 TTFT ms",
        "p99 TPOT ms",
        "flips");
    for (Run r : runs) {
      out.printf(
          Locale.ROOT,
          "%-8s %6.1f %8d %7d %9.1f%% %9.2f %12.1f %12.1f %6d%n",
          r.name(),
          r.peakRate(),
          r.requests().size(),
          r.failed(),
          100 * r.attainment(),
          r.goodput(),
          r.p99(true),
          r.p99(false),
          r.flips());
    }
    out.printf(
        Locale.ROOT,
        "goodput (%s):%n",
        best.unit().equals("req/s")
            ? "requests within both SLOs per second"
            : String.format(
                Locale.ROOT,
                "the highest peak rate with %.0f%% of requests within both SLOs",
                100 * attainment));
    for (Goodput x : goodputs) {
      out.printf(
          Locale.ROOT,
          "  %-8s %s%.2f %s%s%n",
          x.name(),
          x.open() ? ">= " : "",
          x.value(),
          x.unit(),
          x == best ? "  (best static)" : "");
    }
    if (ratio(planned, best) > 0) {
      out.printf(
          Locale.ROOT,
          "planner goodput / best static (%s): %.2fx (target >= 1.3x with 0 failed)%n",
          best.name(),
          ratio(planned, best));
    } else if (planned != null) {
      out.printf(
          "planner goodput / best static: undefined: no static ratio met the attainment goal at"
              + " any peak rate tried (add a lower --peak-rate)%n");
    }
    out.printf("chart: %s%n", svg);
    out.flush();
  }
}
