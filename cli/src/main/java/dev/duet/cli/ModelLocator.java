package dev.duet.cli;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.hub.ConsoleProgress;
import dev.duet.engine.hub.DownloadListener;
import dev.duet.engine.hub.HfHub;
import dev.duet.engine.hub.HfSpec;
import dev.duet.engine.hub.HubConfig;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a {@code --model} argument into a local file or directory.
 *
 * <ul>
 *   <li>a path to a {@code .gguf} file, or to a Hugging Face model directory ({@code config.json},
 *       {@code *.safetensors}, tokenizer files);
 *   <li>{@code synth:PRESET[:SEED[:DTYPE]]}: a synthetic model, written once into the cache
 *       directory and reused;
 *   <li>{@code hf:ORG/REPO/PATH[@REVISION]}: one file (e.g. a {@code .gguf}) from the Hugging Face
 *       hub, and {@code hf:ORG/REPO[@REVISION]}: the files a model directory needs (config,
 *       tokenizer, safetensors weights), downloaded once into {@code CACHE/hub} with a progress bar
 *       on standard error, resumable, checked against the hub's sizes and sha256. {@code HF_TOKEN}
 *       opens gated and private repositories, {@code HF_ENDPOINT} points at a mirror, {@code
 *       HF_HUB_OFFLINE=1} (or an unreachable hub) uses only what the cache holds.
 * </ul>
 *
 * <p>The cache directory is {@code -Dduet.cache}, else {@code $DUET_CACHE}, else {@code
 * ~/.cache/duet}. Stateless; called once per command.
 */
final class ModelLocator {

  private ModelLocator() {}

  static Path resolve(String spec) throws IOException {
    return resolve(spec, System.getenv(), ConsoleProgress.stderr());
  }

  /**
   * Resolves {@code spec}, reading {@code HF_*} settings from {@code env} and reporting downloads
   * to {@code progress}.
   */
  static Path resolve(String spec, Map<String, String> env, DownloadListener progress)
      throws IOException {
    if (spec.startsWith("synth:")) {
      return synthetic(spec.substring("synth:".length()));
    }
    if (HfSpec.isHubSpec(spec)) {
      try (HfHub hub = new HfHub(HubConfig.fromEnvironment(env, cacheDir()), progress)) {
        return hub.resolve(spec);
      }
    }
    Path path = Path.of(spec);
    if (!Files.isRegularFile(path) && !Files.isDirectory(path)) {
      throw new IllegalArgumentException(
          "model file "
              + path
              + " does not exist (use a .gguf path, a model directory, hf:ORG/REPO[/FILE] or"
              + " synth:PRESET)");
    }
    return path;
  }

  private static Path synthetic(String rest) throws IOException {
    String[] parts = rest.split(":");
    String preset = parts[0];
    long seed = parts.length > 1 ? Long.parseLong(parts[1]) : 1;
    GgmlType dtype =
        parts.length > 2 ? GgmlType.valueOf(parts[2].toUpperCase(Locale.ROOT)) : GgmlType.F32;
    SyntheticModel shape = SyntheticModel.preset(preset);
    Path file = cacheDir().resolve("synth").resolve(preset + "-s" + seed + "-" + dtype + ".gguf");
    if (!Files.isRegularFile(file)) {
      Files.createDirectories(file.getParent());
      System.err.printf(
          "duet: writing synthetic model %s (seed %d, %s) to %s%n", preset, seed, dtype, file);
      SyntheticModelWriter.write(shape, seed, dtype, file);
    }
    return file;
  }

  static Path cacheDir() {
    String env = System.getProperty("duet.cache", System.getenv("DUET_CACHE"));
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return Path.of(System.getProperty("user.home"), ".cache", "duet");
  }
}
