package dev.duet.engine.exec;

import dev.duet.engine.sampling.SamplerState;
import dev.duet.engine.sampling.SamplingParams;
import java.util.Arrays;
import java.util.Objects;

/**
 * A running generation's state without its KV cache: what a prefill instance hands a decode
 * instance after the first token, and what live migration carries between two decode instances.
 * With the KV of the first {@link #kvLength()} positions copied into the target's blocks, {@link
 * InferenceEngine#resume} continues the generation with exactly the tokens and text it would have
 * produced where it was.
 *
 * <p>The detokenizer's pending bytes and the stop-string matcher's held-back text are not carried:
 * they are a pure function of the generated ids, so {@code resume} rebuilds them by replaying the
 * ids (no model compute).
 *
 * @param id the request id
 * @param prompt the prompt's token ids
 * @param params sampling parameters
 * @param sampler the sampler's parameters and RNG state after the last sampled token
 * @param generated every token sampled so far (at least the first; EOS never appears)
 */
public record GenerationSnapshot(
    String id, int[] prompt, SamplingParams params, SamplerState sampler, int[] generated) {

  public GenerationSnapshot {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(params, "params");
    Objects.requireNonNull(sampler, "sampler");
    if (prompt == null || prompt.length == 0) {
      throw new IllegalArgumentException("prompt must have at least one token");
    }
    if (generated == null || generated.length == 0) {
      throw new IllegalArgumentException(
          "generated must hold at least the first token (snapshot after prefill)");
    }
    prompt = prompt.clone();
    generated = generated.clone();
  }

  /**
   * Positions whose keys and values must be in the cache before the next decode step: the prompt
   * and every generated token but the last, which the next step feeds.
   */
  public int kvLength() {
    return prompt.length + generated.length - 1;
  }

  @Override
  public int[] prompt() {
    return prompt.clone();
  }

  @Override
  public int[] generated() {
    return generated.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GenerationSnapshot s
        && id.equals(s.id)
        && Arrays.equals(prompt, s.prompt)
        && params.equals(s.params)
        && sampler.equals(s.sampler)
        && Arrays.equals(generated, s.generated);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, Arrays.hashCode(prompt), params, sampler, Arrays.hashCode(generated));
  }

  @Override
  public String toString() {
    return "GenerationSnapshot[id="
        + id
        + ", prompt="
        + prompt.length
        + " tokens, generated="
        + generated.length
        + " tokens, kvLength="
        + kvLength()
        + "]";
  }
}
