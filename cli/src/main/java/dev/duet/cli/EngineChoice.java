package dev.duet.cli;

import picocli.CommandLine.Option;

/**
 * The {@code --engine}, {@code --profile}, {@code --kv-scale} and {@code --sim-speedup} options a
 * command that loads a model shares (a picocli mixin), and the {@code --model} spec they make.
 */
final class EngineChoice {

  @Option(
      names = "--engine",
      defaultValue = "cpu",
      description =
          "cpu (the Llama engine on this machine's cores, the default) or sim (an emulated GPU"
              + " whose passes take the time --profile's latency model gives; no weights).")
  String engine;

  @Option(
      names = "--profile",
      description =
          "With --engine sim: the latency profile, e.g. h100-llama3-8b (see docs/sim.md).")
  String profile;

  @Option(
      names = "--kv-scale",
      description =
          "With --engine sim: divide the real per-token KV size by this (1: the real size, 128"
              + " KiB per token for h100-llama3-8b; 16: 8 KiB). Default: 1 (duet local: 16, so"
              + " 16 workers fit in a few GB).")
  Integer kvScale;

  @Option(
      names = "--sim-speedup",
      defaultValue = "1",
      description =
          "With --engine sim: run every pass this many times faster than the profile says"
              + " (default: ${DEFAULT-VALUE}, real time).")
  double speedup;

  boolean sim() {
    return switch (engine) {
      case "cpu" -> false;
      case "sim" -> true;
      default -> throw new IllegalArgumentException("--engine must be cpu or sim, not " + engine);
    };
  }

  /**
   * The model spec: {@code sim:...} for {@code --engine sim} (which needs {@code --profile} and no
   * {@code --model}), else {@code model}, which may be null when the command has a default.
   */
  String modelSpec(String model) {
    return modelSpec(model, 1);
  }

  /**
   * {@link #modelSpec(String)} with {@code defaultKvScale} when {@code --kv-scale} is not given.
   */
  String modelSpec(String model, int defaultKvScale) {
    if (!sim()) {
      if (profile != null) {
        throw new IllegalArgumentException("--profile needs --engine sim");
      }
      return model;
    }
    if (profile == null) {
      throw new IllegalArgumentException("--engine sim needs --profile (e.g. h100-llama3-8b)");
    }
    if (model != null) {
      throw new IllegalArgumentException(
          "--engine sim serves --profile's emulated model; leave out --model " + model);
    }
    return ModelLoader.simSpec(profile, kvScale != null ? kvScale : defaultKvScale, speedup);
  }
}
