package dev.duet.cli;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.synth.SyntheticHfWriter;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code duet model ...}: model files. */
@Command(
    name = "model",
    mixinStandardHelpOptions = true,
    description = "Work with model files.",
    subcommands = {ModelCommand.Synth.class, ModelInspectCommand.class})
final class ModelCommand implements Runnable {

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code duet model synth}: writes a random-weight Llama model. */
  @Command(
      name = "synth",
      mixinStandardHelpOptions = true,
      description = {
        "Write a synthetic Llama model (random weights), deterministic from the seed: a GGUF file"
            + " with a SentencePiece-style vocabulary, or a Hugging Face directory (config.json,"
            + " safetensors, byte-level BPE tokenizer.json, tokenizer_config.json with a ChatML"
            + " chat template) holding the same weights.",
        "Presets: tiny, gqa, small (stories15M shape), llama-110m (dim 768, 12 layers, vocab"
            + " 32000), qwen-tiny (Qwen2: Q/K/V biases, tied embeddings)."
      })
  static final class Synth implements Callable<Integer> {
    @Option(
        names = "--preset",
        defaultValue = "tiny",
        description =
            "Model shape: tiny, gqa, small, llama-110m, qwen-tiny (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(
        names = "--seed",
        defaultValue = "1",
        description = "Weights seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
        names = "--dtype",
        defaultValue = "F32",
        description =
            "Matrix dtype: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}); the hf format"
                + " takes F32, F16 and BF16.")
    GgmlType dtype;

    @Option(
        names = "--format",
        defaultValue = "gguf",
        description =
            "gguf (one file) or hf (a Hugging Face directory) (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(
        names = "--shard-mb",
        defaultValue = "0",
        description =
            "With --format hf: split the weights into shards of at most this many MB"
                + " (0: one file).")
    double shardMb;

    @Option(
        names = "--out",
        required = true,
        description = "Output .gguf file, or directory for --format hf.")
    Path out;

    @Override
    public Integer call() throws IOException {
      SyntheticModel shape = SyntheticModel.preset(preset);
      long start = System.nanoTime();
      System.err.printf("writing %s (%s, seed %d, %s) to %s%n", preset, shape, seed, dtype, out);
      switch (format) {
        case "gguf" -> SyntheticModelWriter.write(shape, seed, dtype, out);
        case "hf" ->
            SyntheticHfWriter.write(
                shape, seed, dtype, out, shardMb > 0 ? (long) (shardMb * 1e6) : Long.MAX_VALUE);
        default ->
            throw new IllegalArgumentException("--format must be gguf or hf, not '" + format + "'");
      }
      System.err.printf("wrote %s in %.1f s%n", out, (System.nanoTime() - start) / 1e9);
      return 0;
    }
  }
}
