package dev.duet.engine.sampling;

/**
 * Everything needed to resume a {@link Sampler} exactly where it was: the request's parameters and
 * the generator state. Immutable; safe to share between threads.
 */
public record SamplerState(SamplingParams params, RngState rng) {

  public SamplerState {
    if (params == null) {
      throw new IllegalArgumentException("params must not be null, got null");
    }
    if (rng == null) {
      throw new IllegalArgumentException("rng must not be null, got null");
    }
  }
}
