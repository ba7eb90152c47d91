package dev.duet.cli;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Turns a {@code --model} argument into a local file.
 *
 * <ul>
 *   <li>a path to a {@code .gguf} file or a Hugging Face model directory;
 *   <li>{@code synth:PRESET[:SEED[:DTYPE]]}: a synthetic model, written once into the cache
 *       directory ({@code -Dduet.cache}, else {@code $DUET_CACHE}, else {@code ~/.cache/duet}) and
 *       reused.
 * </ul>
 */
final class ModelLocator {

  private ModelLocator() {}

  static Path resolve(String spec) throws IOException {
    if (spec.startsWith("synth:")) {
      return synthetic(spec.substring("synth:".length()));
    }
    Path path = Path.of(spec);
    if (!Files.exists(path)) {
      throw new IllegalArgumentException(
          "model "
              + path
              + " does not exist (use a .gguf file, a Hugging Face directory or synth:PRESET)");
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
