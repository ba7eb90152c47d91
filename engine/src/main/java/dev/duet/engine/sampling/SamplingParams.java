package dev.duet.engine.sampling;

import java.util.ArrayList;
import java.util.List;

/**
 * How one request picks its next tokens and when it stops.
 *
 * <p>Field meanings follow the OpenAI / vLLM request fields of the same names:
 *
 * <ul>
 *   <li>{@code temperature}: finite and {@code >= 0}; 0 means greedy (argmax).
 *   <li>{@code topK}: 0 turns it off, otherwise keep only the {@code topK} most likely tokens; 1 is
 *       greedy.
 *   <li>{@code topP}: nucleus sampling mass in (0, 1]; 1 turns it off.
 *   <li>{@code seed}: seeds the request's {@link SamplerRng}.
 *   <li>{@code maxTokens}: at least 1; the most tokens to generate.
 *   <li>{@code stop}: at most {@value #MAX_STOP_STRINGS} non-empty stop strings (may be empty).
 *   <li>{@code ignoreEos}: keep generating past the EOS token.
 * </ul>
 *
 * <p>Immutable (the stop list is copied) and safe to share between threads. Invalid values throw
 * {@link IllegalArgumentException} naming the field and the value.
 */
public record SamplingParams(
    float temperature,
    int topK,
    float topP,
    long seed,
    int maxTokens,
    List<String> stop,
    boolean ignoreEos) {

  /** The most stop strings one request may have. */
  public static final int MAX_STOP_STRINGS = 16;

  public SamplingParams {
    if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must be 0 (off) or >= 1, got " + topK);
    }
    if (!(topP > 0f && topP <= 1f)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
    }
    if (stop == null) {
      throw new IllegalArgumentException("stop must not be null (use an empty list), got null");
    }
    if (stop.size() > MAX_STOP_STRINGS) {
      throw new IllegalArgumentException(
          "stop must have at most " + MAX_STOP_STRINGS + " strings, got " + stop.size());
    }
    List<String> copy = new ArrayList<>(stop.size());
    for (int i = 0; i < stop.size(); i++) {
      String s = stop.get(i);
      if (s == null || s.isEmpty()) {
        throw new IllegalArgumentException(
            "stop[" + i + "] must be a non-empty string, got " + (s == null ? "null" : "\"\""));
      }
      copy.add(s);
    }
    stop = List.copyOf(copy);
  }

  /** Greedy decoding of at most {@code maxTokens} tokens, no stop strings, seed 0. */
  public static SamplingParams greedy(int maxTokens) {
    return new SamplingParams(0f, 0, 1f, 0L, maxTokens, List.of(), false);
  }

  /**
   * Plain sampling at {@code temperature} (no top-k, no top-p) of at most {@code maxTokens} tokens
   * with the given seed.
   */
  public static SamplingParams random(float temperature, long seed, int maxTokens) {
    return new SamplingParams(temperature, 0, 1f, seed, maxTokens, List.of(), false);
  }

  /** Whether these parameters always pick the most likely token (temperature 0 or top-k 1). */
  public boolean isGreedy() {
    return temperature == 0f || topK == 1;
  }

  public SamplingParams withTemperature(float temperature) {
    return new SamplingParams(temperature, topK, topP, seed, maxTokens, stop, ignoreEos);
  }

  public SamplingParams withTopK(int topK) {
    return new SamplingParams(temperature, topK, topP, seed, maxTokens, stop, ignoreEos);
  }

  public SamplingParams withTopP(float topP) {
    return new SamplingParams(temperature, topK, topP, seed, maxTokens, stop, ignoreEos);
  }

  public SamplingParams withSeed(long seed) {
    return new SamplingParams(temperature, topK, topP, seed, maxTokens, stop, ignoreEos);
  }

  public SamplingParams withMaxTokens(int maxTokens) {
    return new SamplingParams(temperature, topK, topP, seed, maxTokens, stop, ignoreEos);
  }

  public SamplingParams withStop(List<String> stop) {
    return new SamplingParams(temperature, topK, topP, seed, maxTokens, stop, ignoreEos);
  }

  public SamplingParams withIgnoreEos(boolean ignoreEos) {
    return new SamplingParams(temperature, topK, topP, seed, maxTokens, stop, ignoreEos);
  }
}
