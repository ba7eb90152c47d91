package dev.duet.engine.sim;

import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.sim.LatencyProfile.Coefficients;
import dev.duet.engine.sim.LatencyProfile.Geometry;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The built-in {@link LatencyProfile}s, by name. Where each coefficient comes from is in {@code
 * docs/sim.md}; in short, {@code h100-llama3-8b} is a roofline estimate from the H100 SXM datasheet
 * and Llama-3-8B's shape, not a fit to measurements.
 *
 * <p>Stateless; thread-safe.
 */
public final class SimProfiles {

  /** One H100 SXM (BF16) serving Llama-3-8B (32 layers, 8 KV heads of 128, BF16 KV). */
  public static final LatencyProfile H100_LLAMA3_8B =
      new LatencyProfile(
          "h100-llama3-8b",
          // a: ~16 GB of weights read once at ~80% of 3.35 TB/s; b: 15 GFLOP/token at ~60% of
          // 989 TFLOPS; c: causal attention, 2·32·4096 FLOP per token pair at ~40% of peak.
          new Coefficients(6.0, 0.025, 6.6e-7),
          // a: the same weight read; b: per-request GEMM rows and sampling; c: 128 KiB of KV per
          // context token read at ~80% of 3.35 TB/s.
          new Coefficients(6.0, 0.03, 5.0e-5),
          new Geometry(32, 32, 8, 128, 4096, 14336, KvDtype.BF16, 32000, 8192));

  private static final Map<String, LatencyProfile> BY_NAME = new TreeMap<>();

  static {
    BY_NAME.put(H100_LLAMA3_8B.name(), H100_LLAMA3_8B);
  }

  private SimProfiles() {}

  /**
   * The profile called {@code name}.
   *
   * @throws IllegalArgumentException naming the known profiles when there is none by that name
   */
  public static LatencyProfile named(String name) {
    LatencyProfile p = BY_NAME.get(name);
    if (p == null) {
      throw new IllegalArgumentException(
          "unknown sim profile '" + name + "'; known profiles: " + names());
    }
    return p;
  }

  /** The names of the built-in profiles, sorted. */
  public static List<String> names() {
    return List.copyOf(BY_NAME.keySet());
  }
}
