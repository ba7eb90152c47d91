package dev.duet.cli;

import dev.duet.engine.model.LlamaModel;
import dev.duet.engine.model.Model;
import dev.duet.engine.sim.SimModel;
import dev.duet.engine.sim.SimProfiles;
import dev.duet.engine.tensor.ComputePool;
import java.io.IOException;

/**
 * Loads the {@link Model} a {@code --model} argument names: {@code
 * sim:PROFILE[:KV_SCALE[:SPEEDUP]]} is an emulated GPU ({@link SimModel}), anything else goes
 * through {@link ModelLocator} to a CPU {@link LlamaModel}. Stateless.
 */
final class ModelLoader {

  static final String SIM_PREFIX = "sim:";

  private ModelLoader() {}

  static boolean isSim(String spec) {
    return spec.startsWith(SIM_PREFIX);
  }

  /** {@code sim:PROFILE:KV_SCALE:SPEEDUP}. */
  static String simSpec(String profile, int kvScale, double speedup) {
    return SIM_PREFIX + profile + ":" + kvScale + ":" + speedup;
  }

  /**
   * @param pool runs a CPU model's forward passes (the sim does not use it)
   * @throws IllegalArgumentException for an unknown profile or a bad scale, naming them
   */
  static Model load(String spec, ComputePool pool) throws IOException {
    if (!isSim(spec)) {
      return LlamaModel.load(ModelLocator.resolve(spec), pool);
    }
    String[] parts = spec.substring(SIM_PREFIX.length()).split(":");
    try {
      int kvScale = parts.length > 1 ? Integer.parseInt(parts[1]) : 1;
      double speedup = parts.length > 2 ? Double.parseDouble(parts[2]) : 1;
      return SimModel.create(SimProfiles.named(parts[0]), kvScale, speedup);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--model " + spec + ": expected sim:PROFILE[:KV_SCALE[:SPEEDUP]] with numbers", e);
    }
  }
}
