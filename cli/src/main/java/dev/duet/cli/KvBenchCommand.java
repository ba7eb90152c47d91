package dev.duet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.kvtransfer.bench.KvBenchmark;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code duet bench kv}: KV cache transfer between two processes, against in-run baselines. */
@Command(
    name = "kv",
    mixinStandardHelpOptions = true,
    description = {
      "Moves the KV cache of a Llama-3-8B-shaped model (32 layers, 8 KV heads, head dim 128, BF16:"
          + " 128 KiB per token) into a receiver process started from this jar, per token count and"
          + " transport, as a whole and layer by layer with a notify per layer. Baselines measured"
          + " in the same run between the same two processes: single-thread MemorySegment.copy and"
          + " a plain NIO socket blast. Figures are the best of --repeats runs."
    })
final class KvBenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--tokens",
      split = ",",
      defaultValue = "1024,4096,16384",
      description = "Token counts (default: ${DEFAULT-VALUE}).")
  List<Integer> tokens;

  @Option(
      names = "--transport",
      split = ",",
      defaultValue = "tcp,shm",
      description = "Transports: tcp, shm (default: ${DEFAULT-VALUE}).")
  List<String> transports;

  @Option(
      names = "--repeats",
      defaultValue = "5",
      description = "Runs per case; the best counts (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    for (String t : transports) {
      if (!t.equals("tcp") && !t.equals("shm")) {
        throw new IllegalArgumentException("unknown transport '" + t + "' (want tcp or shm)");
      }
    }
    KvBenchmark.Result r =
        new KvBenchmark(repeats, s -> System.err.println("  ... " + s)).run(tokens, transports);
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(toJson(r));
    } else {
      printTable(r, out);
    }
    out.flush();
    return 0;
  }

  static String toJson(KvBenchmark.Result r) throws Exception {
    ObjectMapper m = new ObjectMapper();
    ObjectNode root = m.createObjectNode();
    root.put("memcpy_gbps", round(r.memcpyGbps()));
    root.put("socket_gbps", round(r.socketGbps()));
    root.put("socket_region_gbps", round(r.socketRegionGbps()));
    ArrayNode cases = root.putArray("cases");
    for (KvBenchmark.Case c : r.cases()) {
      cases
          .addObject()
          .put("transport", c.transport())
          .put("tokens", c.tokens())
          .put("mode", c.mode())
          .put("gbps", round(c.gbps()))
          .put("ms", round(c.ms()));
    }
    return m.writeValueAsString(root);
  }

  static void printTable(KvBenchmark.Result r, PrintWriter out) {
    long mib = r.baselineBytes() >> 20;
    out.printf(
        "memcpy baseline (1 thread, %d MiB):                %6.2f GB/s%n", mib, r.memcpyGbps());
    out.printf(
        "socket baseline (NIO blast, %d MiB, 4 MiB buffer): %6.2f GB/s%n", mib, r.socketGbps());
    out.printf(
        "socket baseline (NIO blast, %d MiB, into region):  %6.2f GB/s%n%n",
        mib, r.socketRegionGbps());
    out.printf(
        "%-9s %7s %10s %8s %9s %12s %13s %9s%n",
        "transport", "tokens", "mode", "GB/s", "ms", "of baseline", "like-for-like", "of whole");
    for (KvBenchmark.Case c : r.cases()) {
      boolean shm = c.transport().equals("shm");
      double base = shm ? r.memcpyGbps() : r.socketGbps();
      double like = shm ? r.memcpyGbps() : r.socketRegionGbps();
      double whole =
          r.cases().stream()
              .filter(
                  w ->
                      w.transport().equals(c.transport())
                          && w.tokens() == c.tokens()
                          && w.mode().equals("whole"))
              .mapToDouble(KvBenchmark.Case::gbps)
              .findFirst()
              .orElse(c.gbps());
      out.printf(
          "%-9s %7d %10s %8.2f %9.1f %11.0f%% %12.0f%% %8.0f%%%n",
          c.transport(),
          c.tokens(),
          c.mode(),
          c.gbps(),
          c.ms(),
          100 * c.gbps() / base,
          100 * c.gbps() / like,
          100 * c.gbps() / whole);
    }
    out.println();
    out.println(
        "of baseline: shm against memcpy, tcp against the socket blast into a 4 MiB buffer;");
    out.println(
        "like-for-like: tcp against the socket blast into the same region the transport fills.");
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
