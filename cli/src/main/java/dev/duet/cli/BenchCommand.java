package dev.duet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.bench.EngineBenchmark;
import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.model.LlamaConfig;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.tensor.ComputePool;
import dev.duet.engine.tensor.Kernels;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code duet bench ...}: benchmarks that print a table (or JSON) with in-run baselines. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Benchmarks. Each compares against a baseline measured in the same run.",
    subcommands = {
      BenchCommand.Engine.class,
      BenchServeCommand.class,
      BenchTidalCommand.class,
      KvBenchCommand.class,
      BenchMigrateCommand.class
    })
final class BenchCommand implements Runnable {

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code duet bench engine}. */
  @Command(
      name = "engine",
      mixinStandardHelpOptions = true,
      description = {
        "Prefill tokens/s and decode tokens/s at several batch sizes, with the machine's memory"
            + " bandwidth (a 1 GiB multi-threaded copy, bytes copied per second) measured in the same run"
            + " and each decode figure's ratio to the bandwidth bound (batch x bandwidth / weight"
            + " bytes per step)."
      })
  static final class Engine implements Callable<Integer> {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(
        names = "--model",
        defaultValue = "synth:llama-110m",
        description =
            "A .gguf file, a model directory, hf:ORG/REPO[/FILE][@REVISION] or synth:PRESET"
                + " (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(
        names = "--prompts",
        split = ",",
        defaultValue = "128,512",
        description = "Prompt lengths for prefill (default: ${DEFAULT-VALUE}).")
    List<Integer> prompts;

    @Option(
        names = "--batches",
        split = ",",
        defaultValue = "1,4,16,64",
        description = "Decode batch sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(
        names = "--steps",
        defaultValue = "16",
        description = "Timed decode steps per batch size (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--threads", description = "Compute threads (default: all processors).")
    Integer threads;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      try (ComputePool pool =
              threads == null ? ComputePool.ofAvailableProcessors() : new ComputePool(threads);
          LlamaModel llama = LlamaModel.load(ModelLocator.resolve(model), pool)) {
        LlamaConfig c = llama.config();
        int maxBatch = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
        int maxPrompt = prompts.stream().mapToInt(Integer::intValue).max().orElse(16);
        int blocksPerSeq = (Math.max(maxPrompt, 16 + 3 * steps + 8) + 15) / 16 + 1;
        EngineOptions options =
            EngineOptions.defaults()
                .withKvBlocks(Math.max(maxBatch, 2) * blocksPerSeq)
                .withPrefillChunk(Math.max(512, maxPrompt));
        try (InferenceEngine engine = InferenceEngine.create(llama, options)) {
          System.err.printf(
              "bench engine: %s (dim %d, %d layers, vocab %d, %s, %.0f MB of weights), %d threads, %s kernels%n",
              llama.path().getFileName(),
              c.dim(),
              c.nLayers(),
              c.vocabSize(),
              llama.weights().dominantType(),
              llama.weights().matrixBytes() / 1e6,
              pool.threads(),
              Kernels.vectorized() ? "vector" : "scalar");
          EngineBenchmark.Result r =
              new EngineBenchmark(engine, pool, s -> System.err.println("  ... " + s))
                  .run(prompts, batches, steps);
          PrintWriter out = spec.commandLine().getOut();
          if (json) {
            out.println(toJson(r));
          } else {
            printTable(r, out);
          }
          out.flush();
        }
      }
      return 0;
    }

    private static String toJson(EngineBenchmark.Result r) throws Exception {
      ObjectMapper m = new ObjectMapper();
      ObjectNode root = m.createObjectNode();
      root.put("bandwidth_gbps", round(r.bandwidthGbps()));
      root.put("read_gbps", round(r.readGbps()));
      root.put("weight_bytes", r.weightBytes());
      ArrayNode prefill = root.putArray("prefill");
      for (EngineBenchmark.Prefill p : r.prefill()) {
        prefill
            .addObject()
            .put("prompt_tokens", p.promptTokens())
            .put("tokens_per_s", round(p.tokensPerS()));
      }
      ArrayNode decode = root.putArray("decode");
      for (EngineBenchmark.Decode d : r.decode()) {
        decode
            .addObject()
            .put("batch", d.batch())
            .put("tokens_per_s", round(d.tokensPerS()))
            .put("ratio_to_bound", Math.round(d.ratioToBound() * 1000) / 1000.0);
      }
      return m.writeValueAsString(root);
    }

    private static void printTable(EngineBenchmark.Result r, PrintWriter out) {
      out.printf("memory bandwidth (1 GiB copy, bytes copied/s): %.2f GB/s%n", r.bandwidthGbps());
      out.printf("memory read bandwidth (1 GiB stream):        %.2f GB/s%n", r.readGbps());
      out.printf("weights read per decode step:                %.1f MB%n%n", r.weightBytes() / 1e6);
      out.printf("%-10s %14s%n", "prefill", "tokens/s");
      for (EngineBenchmark.Prefill p : r.prefill()) {
        out.printf("%-10s %14.1f%n", p.promptTokens() + " tok", p.tokensPerS());
      }
      out.printf("%n%-10s %14s %14s %12s%n", "decode", "tokens/s", "bound tok/s", "of bound");
      double base = r.decode().isEmpty() ? 0 : r.decode().getFirst().tokensPerS();
      for (EngineBenchmark.Decode d : r.decode()) {
        out.printf(
            "%-10s %14.1f %14.1f %11.1f%%   (%.1fx batch %d)%n",
            "batch " + d.batch(),
            d.tokensPerS(),
            d.tokensPerS() / d.ratioToBound(),
            100 * d.ratioToBound(),
            d.tokensPerS() / base,
            r.decode().getFirst().batch());
      }
    }

    private static double round(double v) {
      return Math.round(v * 100) / 100.0;
    }
  }
}
