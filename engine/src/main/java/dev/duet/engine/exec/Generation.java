package dev.duet.engine.exec;

import dev.duet.engine.kv.KvSequence;
import dev.duet.engine.sampling.Sampler;
import dev.duet.engine.sampling.SamplerState;
import dev.duet.engine.sampling.SamplingParams;
import dev.duet.engine.sampling.StopReason;
import dev.duet.engine.sampling.StopStringMatcher;
import dev.duet.engine.tokenizer.StreamingDetokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * One request's generation state: prompt, KV blocks, sampler (with its RNG), tokens and text so
 * far, and why it stopped. This is the state live migration will move between instances.
 *
 * <p>Not thread-safe: owned by the engine loop that steps it.
 */
public final class Generation {

  private final String id;
  private final int[] prompt;
  private final SamplingParams params;
  private Sampler sampler;
  private final KvSequence kv;
  private final StreamingDetokenizer detokenizer;
  private final StopStringMatcher stops;
  private final List<Integer> generated = new ArrayList<>();
  private final StringBuilder text = new StringBuilder();
  private int prefilled;
  // Positions to compute before decoding: the prompt, or for a recovered generation the prompt and
  // every generated token but the last.
  private int prefillTarget;
  private StopReason stopReason;

  Generation(
      String id,
      int[] prompt,
      SamplingParams params,
      Sampler sampler,
      KvSequence kv,
      StreamingDetokenizer detokenizer) {
    this.id = id;
    this.prompt = prompt.clone();
    this.params = params;
    this.sampler = sampler;
    this.kv = kv;
    this.detokenizer = detokenizer;
    this.stops = new StopStringMatcher(params.stop());
    this.prefillTarget = prompt.length;
  }

  public String id() {
    return id;
  }

  public int[] prompt() {
    return prompt.clone();
  }

  public int promptLength() {
    return prompt.length;
  }

  /** The token at position {@code i}: the prompt's, then the generated ones. */
  int contextToken(int i) {
    return i < prompt.length ? prompt[i] : generated.get(i - prompt.length);
  }

  /** Positions to compute before decoding (the prompt; more when recovering). */
  int prefillTarget() {
    return prefillTarget;
  }

  /**
   * Whether this generation recomputes a context that already has tokens (recovery after an
   * instance failure): its prefill samples nothing, because its next input is its last token.
   */
  boolean recomputing() {
    return !generated.isEmpty() && !prefillDone();
  }

  /**
   * Makes the generated tokens (all but the last) part of the context to prefill again: the KV of a
   * generation whose cache was lost is recomputed, then decoding continues with the last token.
   */
  void recomputeContext() {
    if (generated.isEmpty()) {
      throw new IllegalStateException(id + " has no generated tokens to recompute");
    }
    prefilled = 0;
    prefillTarget = prompt.length + generated.size() - 1;
  }

  public SamplingParams params() {
    return params;
  }

  Sampler sampler() {
    return sampler;
  }

  /** The sampler's parameters and RNG state: what a migrated request carries to resume exactly. */
  public SamplerState samplerState() {
    return sampler.state();
  }

  /** Replaces the sampler with one restored from {@code state} (the RNG continues from there). */
  public void restoreSampler(SamplerState state) {
    this.sampler = new Sampler(state);
  }

  public KvSequence kv() {
    return kv;
  }

  /**
   * This generation's state for a handoff or a migration (see {@link GenerationSnapshot}).
   *
   * @throws IllegalStateException before the first token is sampled, or once it has finished
   */
  public GenerationSnapshot snapshot() {
    if (!prefillDone() || generated.isEmpty() || finished()) {
      throw new IllegalStateException(
          id + " can be snapshot only between its first and its last token");
    }
    return new GenerationSnapshot(
        id,
        prompt,
        params,
        sampler.state(),
        generated.stream().mapToInt(Integer::intValue).toArray());
  }

  /** Context positions whose KV is in the cache while prefilling. */
  public int prefilled() {
    return prefilled;
  }

  void advancePrefill(int tokens) {
    prefilled += tokens;
  }

  public boolean prefillDone() {
    return prefilled == prefillTarget;
  }

  /** Token ids generated so far (EOS excluded). */
  public List<Integer> generated() {
    return List.copyOf(generated);
  }

  public int generatedCount() {
    return generated.size();
  }

  /** The completion text emitted so far (stop strings and anything after them excluded). */
  public String text() {
    return text.toString();
  }

  /** The position of the next token to feed: prompt plus generated tokens so far, minus one. */
  int lastPosition() {
    return prompt.length + generated.size() - 1;
  }

  int lastToken() {
    return generated.getLast();
  }

  public boolean finished() {
    return stopReason != null;
  }

  /** Why generation stopped, or null while it runs. */
  public StopReason stopReason() {
    return stopReason;
  }

  /**
   * Records a sampled token; returns the text it completes (possibly empty). Sets the stop reason
   * on EOS, a stop string or the token limit.
   */
  String accept(int token, int eosId, int contextLength) {
    if (token == eosId && !params.ignoreEos()) {
      return finish(StopReason.EOS);
    }
    generated.add(token);
    StopStringMatcher.Result r = stops.offer(detokenizer.push(token));
    text.append(r.emit());
    if (r.stopped()) {
      stopReason = StopReason.STOP_STRING;
      return r.emit();
    }
    if (generated.size() >= params.maxTokens()) {
      return r.emit() + finish(StopReason.MAX_TOKENS);
    }
    if (prompt.length + generated.size() >= contextLength) {
      return r.emit() + finish(StopReason.CONTEXT_LENGTH);
    }
    return r.emit();
  }

  /** Ends generation for {@code reason}, returning the text still held back. */
  String finish(StopReason reason) {
    stopReason = reason;
    StopStringMatcher.Result r = stops.offer(detokenizer.flush());
    String rest = r.stopped() ? r.emit() : r.emit() + stops.flush();
    if (r.stopped()) {
      stopReason = StopReason.STOP_STRING;
    }
    text.append(rest);
    return rest;
  }
}
