package dev.duet.engine.model;

/**
 * Rotary position embedding, GGUF/llama.cpp convention: within each head, the pairs {@code (2i,
 * 2i+1)} for {@code i < dims/2} rotate by the angle {@code pos / linearFactor * theta^(-2i/dims) /
 * freqFactors[i]}; dimensions at and above {@code dims} are left alone.
 *
 * @param dims rotated dimensions per head (even)
 * @param theta base frequency ({@code rope.freq_base}, 10000 for Llama 2, 500000 for Llama 3)
 * @param linearFactor linear position scaling (1 = none)
 * @param freqFactors per-pair frequency divisors (Llama 3 scaling), or null
 */
public record Rope(int dims, float theta, float linearFactor, float[] freqFactors) {

  public Rope {
    if (dims <= 0) {
      throw new IllegalArgumentException("rope dims must be > 0, got " + dims);
    }
    if (!(theta > 0)) {
      throw new IllegalArgumentException("rope theta must be > 0, got " + theta);
    }
    if (!(linearFactor > 0)) {
      throw new IllegalArgumentException("rope linear factor must be > 0, got " + linearFactor);
    }
    if (freqFactors != null && freqFactors.length != dims / 2) {
      throw new IllegalArgumentException(
          "rope freq factors must have dims/2 = "
              + dims / 2
              + " entries, got "
              + freqFactors.length);
    }
  }

  /**
   * Writes the cosines and sines for position {@code pos} into {@code cos[0..dims/2)} and {@code
   * sin[0..dims/2)}. Computed in double precision and rounded once, so the table depends only on
   * the position.
   */
  public void angles(int pos, float[] cos, float[] sin) {
    int half = dims / 2;
    for (int i = 0; i < half; i++) {
      double freq = 1.0 / StrictMath.pow(theta, (2.0 * i) / dims);
      if (freqFactors != null) {
        freq /= freqFactors[i];
      }
      double angle = pos / (double) linearFactor * freq;
      cos[i] = (float) StrictMath.cos(angle);
      sin[i] = (float) StrictMath.sin(angle);
    }
  }

  /** Rotates {@code heads} consecutive heads of width {@code headDim} starting at {@code off}. */
  public void apply(float[] v, int off, int heads, int headDim, float[] cos, float[] sin) {
    int half = dims / 2;
    for (int h = 0; h < heads; h++) {
      int base = off + h * headDim;
      for (int i = 0; i < half; i++) {
        float x0 = v[base + 2 * i];
        float x1 = v[base + 2 * i + 1];
        v[base + 2 * i] = x0 * cos[i] - x1 * sin[i];
        v[base + 2 * i + 1] = x0 * sin[i] + x1 * cos[i];
      }
    }
  }
}
