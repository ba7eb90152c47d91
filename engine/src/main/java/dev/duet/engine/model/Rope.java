package dev.duet.engine.model;

import java.util.Objects;

/**
 * Rotary position embedding. Within each head, pair {@code i < dims/2} rotates by the angle {@code
 * pos / linearFactor * theta^(-2i/dims) / freqFactors[i]}; dimensions at and above {@code dims} are
 * left alone. Which two dimensions form pair {@code i} is the {@link Style}: {@code (2i, 2i+1)} in
 * GGUF's Llama files, {@code (i, i + dims/2)} in Hugging Face checkpoints (and GGUF Qwen2). The two
 * describe the same model once the rows of the Q and K projections are permuted, which is what
 * llama.cpp's converter does to Llama checkpoints.
 *
 * @param style which dimensions pair up
 * @param dims rotated dimensions per head (even)
 * @param theta base frequency ({@code rope.freq_base}, 10000 for Llama 2, 500000 for Llama 3)
 * @param linearFactor linear position scaling (1 = none)
 * @param freqFactors per-pair frequency divisors (Llama 3 scaling), or null
 */
public record Rope(Style style, int dims, float theta, float linearFactor, float[] freqFactors) {

  /** How a head's dimensions pair up for rotation. */
  public enum Style {
    /** Pairs {@code (2i, 2i+1)}: llama.cpp's "norm" RoPE, GGUF Llama/Mistral. */
    INTERLEAVED,
    /** Pairs {@code (i, i + dims/2)}: Hugging Face's {@code rotate_half}, llama.cpp's "neox". */
    SPLIT_HALVES
  }

  public Rope {
    Objects.requireNonNull(style, "style");
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
    // Pair i is (first(i), first(i) + step).
    int stride = style == Style.INTERLEAVED ? 2 : 1;
    int step = style == Style.INTERLEAVED ? 1 : half;
    for (int h = 0; h < heads; h++) {
      int base = off + h * headDim;
      for (int i = 0; i < half; i++) {
        int a = base + stride * i;
        float x0 = v[a];
        float x1 = v[a + step];
        v[a] = x0 * cos[i] - x1 * sin[i];
        v[a + step] = x0 * sin[i] + x1 * cos[i];
      }
    }
  }

  /**
   * Llama 3's long-context frequency divisors ({@code rope_scaling.rope_type = "llama3"}), one per
   * pair: wavelengths shorter than {@code originalContext / highFreqFactor} keep their frequency,
   * those longer than {@code originalContext / lowFreqFactor} are divided by {@code factor}, and
   * the band in between blends the two. The same values llama.cpp's converter stores as {@code
   * rope_freqs.weight}.
   */
  public static float[] llama3FreqFactors(
      int dims,
      float theta,
      double factor,
      double lowFreqFactor,
      double highFreqFactor,
      double originalContext) {
    if (!(factor > 0) || !(highFreqFactor > lowFreqFactor) || !(originalContext > 0)) {
      throw new IllegalArgumentException(
          "llama3 rope scaling needs factor > 0, high_freq_factor > low_freq_factor and"
              + " original_max_position_embeddings > 0; got factor "
              + factor
              + ", low "
              + lowFreqFactor
              + ", high "
              + highFreqFactor
              + ", original context "
              + originalContext);
    }
    double lowFreqWavelen = originalContext / lowFreqFactor;
    double highFreqWavelen = originalContext / highFreqFactor;
    float[] out = new float[dims / 2];
    for (int i = 0; i < out.length; i++) {
      double freq = 1.0 / StrictMath.pow(theta, (2.0 * i) / dims);
      double wavelen = 2 * Math.PI / freq;
      if (wavelen < highFreqWavelen) {
        out[i] = 1f;
      } else if (wavelen > lowFreqWavelen) {
        out[i] = (float) factor;
      } else {
        double smooth =
            (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        out[i] = (float) (1 / ((1 - smooth) / factor + smooth));
      }
    }
    return out;
  }
}
