package dev.duet.engine.exec;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.synth.SyntheticModel;
import dev.duet.engine.synth.SyntheticModelWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Synthetic models for tests, written once per JVM into a temporary directory. */
final class TestModels {

  private TestModels() {}

  static synchronized Path synthetic(String preset, GgmlType type) {
    try {
      Path dir =
          Path.of(
              System.getProperty("java.io.tmpdir"),
              "duet-test-models-" + ProcessHandle.current().pid());
      Files.createDirectories(dir);
      dir.toFile().deleteOnExit();
      Path file = dir.resolve(preset + "-" + type + ".gguf");
      if (!Files.exists(file)) {
        SyntheticModelWriter.write(SyntheticModel.preset(preset), 42, type, file);
        file.toFile().deleteOnExit();
      }
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
