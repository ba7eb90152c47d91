package dev.duet.cli;

import dev.duet.engine.gguf.GgmlType;
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
    subcommands = {ModelCommand.Synth.class})
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
        "Write a synthetic Llama model (random weights, a small SentencePiece-style vocabulary) as"
            + " GGUF, deterministic from the seed.",
        "Presets: tiny, gqa, small (stories15M shape), llama-110m (dim 768, 12 layers, vocab"
            + " 32000)."
      })
  static final class Synth implements Callable<Integer> {
    @Option(
        names = "--preset",
        defaultValue = "tiny",
        description = "Model shape: tiny, gqa, small, llama-110m (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(
        names = "--seed",
        defaultValue = "1",
        description = "Weights seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
        names = "--dtype",
        defaultValue = "F32",
        description = "Matrix dtype: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    GgmlType dtype;

    @Option(names = "--out", required = true, description = "Output .gguf file.")
    Path out;

    @Override
    public Integer call() throws IOException {
      SyntheticModel shape = SyntheticModel.preset(preset);
      long start = System.nanoTime();
      System.err.printf("writing %s (%s, seed %d, %s) to %s%n", preset, shape, seed, dtype, out);
      SyntheticModelWriter.write(shape, seed, dtype, out);
      System.err.printf(
          "wrote %s: %.1f MB in %.1f s%n",
          out, java.nio.file.Files.size(out) / 1e6, (System.nanoTime() - start) / 1e9);
      return 0;
    }
  }
}
