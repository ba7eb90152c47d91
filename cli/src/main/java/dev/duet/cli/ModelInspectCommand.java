package dev.duet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.model.LlamaConfig;
import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.model.ModelSummary;
import dev.duet.engine.model.Rope;
import dev.duet.engine.tensor.ComputePool;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code duet model inspect M}: what a model is, without running it. */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    description =
        "Print a model's architecture, shapes, dtypes, tokenizer, chat template, size on disk and"
            + " KV cache bytes per token.")
final class ModelInspectCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Parameters(
      index = "0",
      paramLabel = "MODEL",
      description = "A .gguf file, a Hugging Face directory, or synth:PRESET[:SEED[:DTYPE]].")
  String model;

  @Option(names = "--json", description = "Print one JSON object instead of text.")
  boolean json;

  @Option(names = "--template", description = "Print the whole chat template.")
  boolean fullTemplate;

  @Override
  public Integer call() throws Exception {
    ModelSummary s;
    try (ComputePool pool = new ComputePool(1);
        LlamaModel m = LlamaModel.load(ModelLocator.resolve(model), pool)) {
      s = ModelSummary.of(m);
    }
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(json(s)));
    } else {
      text(s, out);
    }
    out.flush();
    return 0;
  }

  private void text(ModelSummary s, PrintWriter out) {
    LlamaConfig c = s.config();
    out.printf("model      %s (%s, %s)%n", s.path(), s.format(), bytes(s.fileBytes()));
    out.printf(
        "arch       %s: %d layers, dim %d, %d heads (%d KV heads, head dim %d), hidden %d,"
            + " vocab %d, context %d%n",
        c.architecture(),
        c.nLayers(),
        c.dim(),
        c.nHeads(),
        c.nKvHeads(),
        c.headDim(),
        c.hiddenDim(),
        c.vocabSize(),
        c.contextLength());
    out.printf("rope       %s%n", rope(c.rope()));
    StringBuilder w = new StringBuilder();
    w.append(String.format(Locale.ROOT, "%.2f M parameters; matrices", s.parameters() / 1e6));
    s.matrixDtypes().forEach((t, n) -> w.append(' ').append(t).append(" x").append(n));
    if (s.tiedEmbeddings()) {
      w.append("; tied embeddings");
    }
    if (s.qkvBias()) {
      w.append("; Q/K/V biases");
    }
    out.printf("weights    %s%n", w);
    out.printf(
        "tokenizer  %s, %d tokens, BOS %s, EOS %s%n",
        s.tokenizer(), s.vocabSize(), s.bos(), s.eos());
    if (s.chatTemplate().isEmpty()) {
      out.println("chat       no template (duet generate --chat uses Duet's fallback)");
    } else if (fullTemplate) {
      out.println("chat       template:");
      out.println(s.chatTemplate().get());
    } else {
      String t = s.chatTemplate().get().replace("\n", "\\n");
      out.printf(
          "chat       template, %d chars: %s%n",
          s.chatTemplate().get().length(),
          t.length() > 90 ? t.substring(0, 90) + "... (--template prints it all)" : t);
    }
    StringBuilder kv = new StringBuilder();
    for (Map.Entry<KvDtype, Long> e : s.kvBytesPerToken().entrySet()) {
      kv.append(kv.isEmpty() ? "" : ", ").append(e.getKey()).append(' ');
      kv.append(bytes(e.getValue()));
    }
    out.printf("kv cache   per token: %s%n", kv);
  }

  private static String rope(Rope r) {
    String s =
        String.format(
            Locale.ROOT,
            "%s, theta %.0f, %d dims per head",
            r.style() == Rope.Style.INTERLEAVED ? "interleaved pairs" : "split halves",
            r.theta(),
            r.dims());
    if (r.linearFactor() != 1f) {
      s += String.format(Locale.ROOT, ", linear scaling x%.2f", r.linearFactor());
    }
    if (r.freqFactors() != null) {
      s += ", per-frequency factors (Llama 3 scaling)";
    }
    return s;
  }

  static String bytes(long b) {
    if (b < 1024) {
      return b + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = b;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  private static ObjectNode json(ModelSummary s) {
    ObjectMapper m = new ObjectMapper();
    LlamaConfig c = s.config();
    ObjectNode o = m.createObjectNode();
    o.put("path", s.path().toString());
    o.put("format", s.format().name().toLowerCase(Locale.ROOT));
    o.put("file_bytes", s.fileBytes());
    o.put("architecture", c.architecture());
    o.put("layers", c.nLayers());
    o.put("dim", c.dim());
    o.put("heads", c.nHeads());
    o.put("kv_heads", c.nKvHeads());
    o.put("head_dim", c.headDim());
    o.put("hidden_dim", c.hiddenDim());
    o.put("vocab_size", c.vocabSize());
    o.put("context_length", c.contextLength());
    ObjectNode rope = o.putObject("rope");
    rope.put("style", c.rope().style().name().toLowerCase(Locale.ROOT));
    rope.put("theta", c.rope().theta());
    rope.put("dims", c.rope().dims());
    rope.put("linear_factor", c.rope().linearFactor());
    rope.put("freq_factors", c.rope().freqFactors() != null);
    o.put("parameters", s.parameters());
    ObjectNode dtypes = o.putObject("matrix_dtypes");
    s.matrixDtypes().forEach(dtypes::put);
    o.put("tied_embeddings", s.tiedEmbeddings());
    o.put("qkv_bias", s.qkvBias());
    ObjectNode tok = o.putObject("tokenizer");
    tok.put("kind", s.tokenizer());
    tok.put("vocab_size", s.vocabSize());
    tok.put("bos", s.bos());
    tok.put("eos", s.eos());
    o.put("chat_template", s.chatTemplate().orElse(null));
    ObjectNode kv = o.putObject("kv_bytes_per_token");
    s.kvBytesPerToken().forEach((d, b) -> kv.put(d.name(), b));
    return o;
  }
}
