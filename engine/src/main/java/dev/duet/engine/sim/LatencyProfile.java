package dev.duet.engine.sim;

import dev.duet.engine.kv.KvDtype;
import java.util.Objects;

/**
 * How long an emulated GPU takes for a forward pass, and the shape of the model it serves: the
 * latency model DistServe and Llumnix use, {@code prefill = a + b·tokens + c·tokens²} and {@code
 * decode step = a + b·batch + c·Σcontext}.
 *
 * <p>A pass that mixes prefill chunks and decode rows (chunked prefill) costs the prefill part's
 * {@code b·tokens + c·pairs} plus the decode part's {@code b·batch + c·Σcontext}, and the larger of
 * the fixed costs {@code a} once. For a chunk of {@code n} prompt tokens after {@code o} already
 * cached, {@code pairs = (o+n)² − o²}: the chunks of a prompt of length {@code L} add up to {@code
 * L²}, so chunking changes the total time only by the extra fixed costs, as on a GPU.
 *
 * <p>Immutable; thread-safe.
 *
 * @param name the profile's name ({@code --profile})
 * @param prefill prefill coefficients: a in ms, b in ms per prompt token, c in ms per token²
 * @param decode decode coefficients: a in ms, b in ms per request in the batch, c in ms per token
 *     of context summed over the batch
 * @param geometry the served model's shape
 */
public record LatencyProfile(
    String name, Coefficients prefill, Coefficients decode, Geometry geometry) {

  public LatencyProfile {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("profile name must not be blank");
    }
    Objects.requireNonNull(prefill, "prefill");
    Objects.requireNonNull(decode, "decode");
    Objects.requireNonNull(geometry, "geometry");
  }

  /**
   * {@code a + b·x + c·y}, each coefficient finite and {@code >= 0}.
   *
   * @param a fixed cost per pass, ms
   * @param b cost per unit of the linear term, ms
   * @param c cost per unit of the quadratic (prefill) or context (decode) term, ms
   */
  public record Coefficients(double a, double b, double c) {
    public Coefficients {
      nonNegative("a", a);
      nonNegative("b", b);
      nonNegative("c", c);
    }

    private static void nonNegative(String field, double v) {
      if (!(v >= 0) || Double.isInfinite(v)) {
        throw new IllegalArgumentException(field + " must be finite and >= 0, got " + v);
      }
    }
  }

  /**
   * The emulated model's shape. The KV geometry sets the real per-token KV size, {@code 2 · layers
   * · kvHeads · headDim · dtype bytes}; the others only make a consistent model configuration.
   *
   * @param layers transformer layers
   * @param heads query heads
   * @param kvHeads key/value heads
   * @param headDim elements per head
   * @param dim hidden size
   * @param hiddenDim feed-forward width
   * @param kvDtype element type of the KV cache
   * @param vocabSize tokens in the (synthetic) vocabulary
   * @param contextLength longest sequence, in tokens
   */
  public record Geometry(
      int layers,
      int heads,
      int kvHeads,
      int headDim,
      int dim,
      int hiddenDim,
      KvDtype kvDtype,
      int vocabSize,
      int contextLength) {
    public Geometry {
      positive("layers", layers);
      positive("heads", heads);
      positive("kvHeads", kvHeads);
      positive("headDim", headDim);
      positive("dim", dim);
      positive("hiddenDim", hiddenDim);
      positive("vocabSize", vocabSize);
      positive("contextLength", contextLength);
      Objects.requireNonNull(kvDtype, "kvDtype");
      if (heads % kvHeads != 0) {
        throw new IllegalArgumentException(
            "heads (" + heads + ") must be a multiple of kvHeads (" + kvHeads + ")");
      }
    }

    /** K and V bytes of one token over all layers. */
    public long kvBytesPerToken() {
      return 2L * layers * kvHeads * headDim * kvDtype.bytes();
    }

    private static void positive(String field, int v) {
      if (v <= 0) {
        throw new IllegalArgumentException(field + " must be > 0, got " + v);
      }
    }
  }

  /** Milliseconds to prefill {@code tokens} prompt tokens from an empty cache, in one pass. */
  public double prefillMs(int tokens) {
    return stepMs(tokens, (long) tokens * tokens, 0, 0);
  }

  /** Milliseconds of one decode step of {@code batch} requests holding {@code context} tokens. */
  public double decodeMs(int batch, long context) {
    return stepMs(0, 0, batch, context);
  }

  /**
   * Milliseconds of one pass with {@code prefillTokens} prompt tokens (whose chunks add up to
   * {@code prefillPairs}, see the class comment) and {@code decodeRows} decode rows attending
   * {@code decodeContext} tokens in all. An empty pass costs nothing.
   */
  public double stepMs(int prefillTokens, long prefillPairs, int decodeRows, long decodeContext) {
    double fixed = 0;
    double t = 0;
    if (prefillTokens > 0) {
      fixed = prefill.a();
      t += prefill.b() * prefillTokens + prefill.c() * prefillPairs;
    }
    if (decodeRows > 0) {
      fixed = Math.max(fixed, decode.a());
      t += decode.b() * decodeRows + decode.c() * decodeContext;
    }
    return fixed + t;
  }
}
