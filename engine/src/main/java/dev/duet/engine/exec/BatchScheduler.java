package dev.duet.engine.exec;

import dev.duet.engine.sampling.SamplingParams;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Continuous batching with chunked prefill over one {@link InferenceEngine}: each {@link #step()}
 * is one forward pass holding a decode row for every running request plus prompt chunks of admitted
 * requests, up to a token budget. Requests join as soon as their KV fits and leave the step they
 * finish, so the batch changes every step, and no token changes for it (the engine is batch
 * invariant).
 *
 * <p>Admission is first come, first served, and reserves a request's KV for its whole life (prompt
 * plus {@code max_tokens}, capped at the context) up front, so a running request never runs out of
 * blocks; a request that does not fit waits at the head of the queue. The queue is bounded: {@link
 * #submit} refuses when it is full, which is the caller's signal to reject (never queue blindly).
 *
 * <p>Threading: not thread-safe. One thread (the worker's step loop) calls every method; listeners
 * run on it, inside {@link #step()} and {@link #cancel}.
 */
public final class BatchScheduler {

  /**
   * Limits.
   *
   * @param tokenBudget rows per forward pass: decode rows plus prefill tokens
   * @param maxRunning requests admitted at once (prefilling or decoding)
   * @param maxQueued requests waiting for admission before {@link #submit} refuses
   */
  public record Options(int tokenBudget, int maxRunning, int maxQueued) {
    public Options {
      if (tokenBudget < 1 || maxRunning < 1 || maxQueued < 0) {
        throw new IllegalArgumentException(
            "tokenBudget and maxRunning must be >= 1 and maxQueued >= 0; got "
                + tokenBudget
                + ", "
                + maxRunning
                + ", "
                + maxQueued);
      }
      if (tokenBudget < maxRunning) {
        throw new IllegalArgumentException(
            "tokenBudget "
                + tokenBudget
                + " must cover a decode row per running request "
                + maxRunning);
      }
    }
  }

  private final InferenceEngine engine;
  private final Options options;
  private final ArrayDeque<Generation> queue = new ArrayDeque<>();
  private final List<Generation> prefilling = new ArrayList<>();
  private final List<Generation> decoding = new ArrayList<>();
  private final Map<Generation, Consumer<TokenEvent>> listeners = new IdentityHashMap<>();
  private final Map<String, Generation> byId = new LinkedHashMap<>();
  private int lastPrefillTokens;
  private int lastDecodeRows;

  public BatchScheduler(InferenceEngine engine, Options options) {
    this.engine = Objects.requireNonNull(engine, "engine");
    this.options = Objects.requireNonNull(options, "options");
  }

  /**
   * Queues a request; its events (the first token after prefill, then one per step, the last with
   * {@code finished}) go to {@code listener}.
   *
   * @return false when the queue is full (nothing was queued)
   * @throws IllegalArgumentException for a bad prompt or a duplicate id
   */
  public boolean submit(
      String id, int[] prompt, SamplingParams params, Consumer<TokenEvent> listener) {
    if (byId.containsKey(id)) {
      throw new IllegalArgumentException("request " + id + " is already running");
    }
    if (queue.size() >= options.maxQueued()) {
      return false;
    }
    Generation g = engine.start(id, prompt, params);
    if (blocksFor(g) > engine.cache().totalBlocks()) {
      throw new IllegalArgumentException(
          id
              + " needs "
              + blocksFor(g)
              + " KV blocks; the pool has "
              + engine.cache().totalBlocks());
    }
    queue.add(g);
    listeners.put(g, listener);
    byId.put(id, g);
    return true;
  }

  /** Ends a request wherever it is (queued or running), frees its blocks and tells its listener. */
  public boolean cancel(String id) {
    Generation g = byId.get(id);
    if (g == null) {
      return false;
    }
    queue.remove(g);
    prefilling.remove(g);
    decoding.remove(g);
    engine.cancel(g);
    Consumer<TokenEvent> listener = remove(g);
    listener.accept(new TokenEvent(g, -1, "", true));
    return true;
  }

  /**
   * Ends every queued and running request with {@code ERROR} (after a failed forward pass), frees
   * their blocks and tells their listeners.
   */
  public void failAll() {
    for (Generation g : List.copyOf(byId.values())) {
      queue.remove(g);
      prefilling.remove(g);
      decoding.remove(g);
      engine.fail(g);
      remove(g).accept(new TokenEvent(g, -1, "", true));
    }
  }

  /** Whether a {@link #step()} would do anything. */
  public boolean hasWork() {
    return !queue.isEmpty() || !prefilling.isEmpty() || !decoding.isEmpty();
  }

  /** Requests waiting for admission. */
  public int queued() {
    return queue.size();
  }

  /** Prompt tokens not yet prefilled, of queued and prefilling requests: the prefill backlog. */
  public long pendingPromptTokens() {
    long n = 0;
    for (Generation g : queue) {
      n += g.promptLength() - g.prefilled();
    }
    for (Generation g : prefilling) {
      n += g.promptLength() - g.prefilled();
    }
    return n;
  }

  /** Prompt tokens the last {@link #step()} prefilled. */
  public int lastPrefillTokens() {
    return lastPrefillTokens;
  }

  /** Decode rows the last {@link #step()} ran. */
  public int lastDecodeRows() {
    return lastDecodeRows;
  }

  /** Requests admitted: prefilling or decoding. */
  public int running() {
    return prefilling.size() + decoding.size();
  }

  /**
   * Admits what fits, then runs one forward pass and delivers its events.
   *
   * @return false when there was nothing to run
   */
  public boolean step() {
    admit();
    List<Generation> decodes = List.copyOf(decoding);
    int budget = options.tokenBudget() - decodes.size();
    Map<Generation, Integer> chunks = new LinkedHashMap<>();
    for (Generation g : prefilling) {
      if (budget <= 0) {
        break;
      }
      int n = Math.min(budget, g.promptLength() - g.prefilled());
      chunks.put(g, n);
      budget -= n;
    }
    lastDecodeRows = decodes.size();
    lastPrefillTokens = chunks.values().stream().mapToInt(Integer::intValue).sum();
    if (decodes.isEmpty() && chunks.isEmpty()) {
      return false;
    }
    for (TokenEvent e : engine.step(decodes, chunks)) {
      Generation g = e.generation();
      if (prefilling.remove(g)) {
        decoding.add(g);
      }
      Consumer<TokenEvent> listener = listeners.get(g);
      if (e.finished()) {
        decoding.remove(g);
        engine.release(g);
        remove(g);
      }
      listener.accept(e);
    }
    return true;
  }

  private void admit() {
    while (!queue.isEmpty() && running() < options.maxRunning()) {
      Generation g = queue.peek();
      if (blocksFor(g) > engine.cache().freeBlocks()) {
        return;
      }
      g.kv().reserve(lifetimeTokens(g));
      queue.poll();
      prefilling.add(g);
    }
  }

  private int lifetimeTokens(Generation g) {
    return Math.min(
        g.promptLength() + g.params().maxTokens(), engine.model().config().contextLength());
  }

  private int blocksFor(Generation g) {
    int bs = engine.cache().layout().blockSize();
    return (lifetimeTokens(g) + bs - 1) / bs;
  }

  private Consumer<TokenEvent> remove(Generation g) {
    byId.remove(g.id());
    return listeners.remove(g);
  }
}
