package dev.duet.engine.exec;

import dev.duet.engine.kv.KvSequence;
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

  /**
   * What a prefill instance does with a request it hands over. Both methods run on the step thread.
   */
  public interface Handoff {
    /**
     * Layer {@code layer} of the whole prompt's K/V is in the cache: called during the pass that
     * completes the prompt, while later layers still compute, so a transfer can overlap them.
     */
    default void layerReady(Generation g, int layer) {}

    /** The first token is sampled and the prompt's K/V is complete; the blocks are freed next. */
    void firstToken(Generation g);
  }

  private final InferenceEngine engine;
  private final Options options;
  private final ArrayDeque<Generation> queue = new ArrayDeque<>();
  private final List<Generation> prefilling = new ArrayList<>();
  private final List<Generation> decoding = new ArrayList<>();
  private final Map<Generation, Consumer<TokenEvent>> listeners = new IdentityHashMap<>();
  private final Map<String, Generation> byId = new LinkedHashMap<>();
  private final Map<String, KvSequence> reservations = new LinkedHashMap<>();
  private final Map<Generation, Handoff> handoffs = new IdentityHashMap<>();
  private final Map<String, Generation> frozen = new LinkedHashMap<>();
  private final java.util.Set<Generation> paused =
      java.util.Collections.newSetFromMap(new IdentityHashMap<>());
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

  /**
   * Reserves KV blocks for {@code tokens} positions of a request that will arrive as a snapshot
   * (the decode side of a prefill handoff): the prefill instance writes the prompt's KV into {@link
   * KvSequence#blockIds()} of the returned sequence, then {@link #submitResumed} continues it.
   *
   * @return the reserved sequence, or null when the pool cannot hold it now (the caller refuses)
   */
  public KvSequence reserve(String id, int tokens) {
    if (byId.containsKey(id) || reservations.containsKey(id)) {
      throw new IllegalArgumentException("request " + id + " is already here");
    }
    int bs = engine.cache().layout().blockSize();
    if ((tokens + bs - 1) / bs > engine.cache().freeBlocks()) {
      return null;
    }
    KvSequence kv = engine.cache().newSequence();
    kv.reserve(tokens);
    reservations.put(id, kv);
    return kv;
  }

  /**
   * Continues a request from its snapshot, in the blocks {@link #reserve}d for it (or new ones),
   * once its KV is in place: it joins the decode batch at the next step.
   */
  public void submitResumed(GenerationSnapshot s, Consumer<TokenEvent> listener) {
    KvSequence kv = reservations.remove(s.id());
    Generation g = kv != null ? engine.resume(s, kv) : engine.resume(s);
    decoding.add(g);
    listeners.put(g, listener);
    byId.put(s.id(), g);
  }

  /**
   * Queues a request whose instance failed, from its snapshot: once admitted it recomputes the KV
   * of its context (the prompt and its tokens so far) in prefill chunks, samples nothing there, and
   * decodes on from its last token, so its events continue exactly where the lost instance's
   * stopped.
   *
   * @return false when the queue is full (nothing was queued)
   * @throws IllegalArgumentException for a bad snapshot or a duplicate id
   */
  public boolean submitRecovered(GenerationSnapshot s, Consumer<TokenEvent> listener) {
    if (byId.containsKey(s.id()) || reservations.containsKey(s.id())) {
      throw new IllegalArgumentException("request " + s.id() + " is already here");
    }
    if (queue.size() >= options.maxQueued()) {
      return false;
    }
    Generation g = engine.recover(s);
    if (blocksFor(g) > engine.cache().totalBlocks()) {
      throw new IllegalArgumentException(
          s.id()
              + " needs "
              + blocksFor(g)
              + " KV blocks; the pool has "
              + engine.cache().totalBlocks());
    }
    queue.add(g);
    listeners.put(g, listener);
    byId.put(s.id(), g);
    return true;
  }

  /** Where request {@code id} is here: queued, prefilling, decoding, frozen, reserved or absent. */
  public String where(String id) {
    if (reservations.containsKey(id)) {
      return "reserved";
    }
    if (frozen.containsKey(id)) {
      return "frozen";
    }
    Generation g = byId.get(id);
    if (g == null) {
      return "absent";
    }
    return queue.contains(g) ? "queued" : prefilling.contains(g) ? "prefilling" : "decoding";
  }

  /** The decoding (not frozen, not finished) request {@code id}, or null. */
  public Generation decoding(String id) {
    Generation g = byId.get(id);
    return g != null && decoding.contains(g) ? g : null;
  }

  /**
   * Takes a decoding request out of the batch between two steps, keeping its blocks and listener:
   * the last stage of a live migration copies its final KV and state while it cannot change.
   *
   * @return the frozen generation, or null when {@code id} is not decoding here (finished,
   *     cancelled, still prefilling)
   */
  public Generation freeze(String id) {
    Generation g = decoding(id);
    if (g == null) {
      return null;
    }
    decoding.remove(g);
    frozen.put(id, g);
    return g;
  }

  /** Puts a frozen request back into the batch (its migration was aborted). */
  public boolean unfreeze(String id) {
    Generation g = frozen.remove(id);
    if (g == null) {
      return false;
    }
    decoding.add(g);
    return true;
  }

  /**
   * Ends a frozen request here because it now runs elsewhere: frees its blocks and returns its
   * listener (which gets no event: the caller ends its stream), or null when it is not frozen.
   */
  public Consumer<TokenEvent> migratedAway(String id) {
    Generation g = frozen.remove(id);
    if (g == null) {
      return null;
    }
    engine.release(g);
    return remove(g);
  }

  /** Requests frozen for a migration's last stage. */
  public int frozen() {
    return frozen.size();
  }

  /**
   * Like {@link #submit}, for a prefill instance: during the pass that completes the prompt, {@code
   * handoff} hears each layer as soon as it is stored (so its transfer overlaps the compute of the
   * next layers); when the first token is sampled it runs {@link Handoff#firstToken} (before the
   * blocks are freed: it finishes the copy and takes the snapshot), the listener gets the first
   * token's event, and the request leaves this instance. A request whose first token already ends
   * it needs no handoff and ends as usual.
   */
  public boolean submitHandoff(
      String id,
      int[] prompt,
      SamplingParams params,
      Handoff handoff,
      Consumer<TokenEvent> listener) {
    if (!submit(id, prompt, params, listener)) {
      return false;
    }
    handoffs.put(byId.get(id), handoff);
    return true;
  }

  /** Ends a request wherever it is (queued or running), frees its blocks and tells its listener. */
  public boolean cancel(String id) {
    KvSequence reserved = reservations.remove(id);
    if (reserved != null) {
      reserved.free();
      return true;
    }
    Generation g = byId.get(id);
    if (g == null) {
      return false;
    }
    queue.remove(g);
    prefilling.remove(g);
    decoding.remove(g);
    frozen.remove(id);
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
    for (KvSequence kv : reservations.values()) {
      kv.free();
    }
    reservations.clear();
    for (Generation g : List.copyOf(byId.values())) {
      queue.remove(g);
      prefilling.remove(g);
      decoding.remove(g);
      frozen.remove(g.id());
      engine.fail(g);
      remove(g).accept(new TokenEvent(g, -1, "", true));
    }
  }

  /**
   * Pauses or resumes a decoding request (backpressure: its client reads slower than it generates).
   * A paused request keeps its blocks and skips decode steps; its tokens do not change.
   */
  public void setPaused(String id, boolean pause) {
    Generation g = byId.get(id);
    if (g == null) {
      return;
    }
    if (pause) {
      paused.add(g);
    } else {
      paused.remove(g);
    }
  }

  /** Requests whose blocks are reserved and whose snapshot has not arrived yet. */
  public int reserved() {
    return reservations.size();
  }

  /** Whether a {@link #step()} would do anything. */
  public boolean hasWork() {
    return !queue.isEmpty()
        || !prefilling.isEmpty()
        || decoding.stream().anyMatch(g -> !paused.contains(g));
  }

  /** Requests waiting for admission. */
  public int queued() {
    return queue.size();
  }

  /** Prompt tokens not yet prefilled, of queued and prefilling requests: the prefill backlog. */
  public long pendingPromptTokens() {
    long n = 0;
    for (Generation g : queue) {
      n += g.prefillTarget() - g.prefilled();
    }
    for (Generation g : prefilling) {
      n += g.prefillTarget() - g.prefilled();
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

  /** Requests admitted: prefilling, decoding or frozen for a migration. */
  public int running() {
    return prefilling.size() + decoding.size() + frozen.size();
  }

  /**
   * Admits what fits, then runs one forward pass and delivers its events.
   *
   * @return false when there was nothing to run
   */
  public boolean step() {
    admit();
    List<Generation> decodes =
        paused.isEmpty()
            ? List.copyOf(decoding)
            : decoding.stream().filter(g -> !paused.contains(g)).toList();
    int budget = options.tokenBudget() - decodes.size();
    Map<Generation, Integer> chunks = new LinkedHashMap<>();
    for (Generation g : prefilling) {
      if (budget <= 0) {
        break;
      }
      int n = Math.min(budget, g.prefillTarget() - g.prefilled());
      chunks.put(g, n);
      budget -= n;
    }
    lastDecodeRows = decodes.size();
    lastPrefillTokens = chunks.values().stream().mapToInt(Integer::intValue).sum();
    if (decodes.isEmpty() && chunks.isEmpty()) {
      return false;
    }
    List<Generation> completing = new ArrayList<>();
    for (Map.Entry<Generation, Integer> c : chunks.entrySet()) {
      Generation g = c.getKey();
      if (handoffs.containsKey(g) && g.prefilled() + c.getValue() == g.prefillTarget()) {
        completing.add(g);
      }
    }
    java.util.function.IntConsumer layerStored =
        completing.isEmpty()
            ? null
            : layer -> {
              for (Generation g : completing) {
                handoffs.get(g).layerReady(g, layer);
              }
            };
    List<TokenEvent> events = engine.step(decodes, chunks, layerStored);
    for (Generation g : chunks.keySet()) {
      if (g.prefillDone() && !g.finished() && g.generatedCount() > 0 && !handoffs.containsKey(g)) {
        // A recovered request finished recomputing its context: it decodes from the next step.
        // (A fresh prompt completing here has an event below, which moves it.)
        if (events.stream().noneMatch(e -> e.generation() == g) && prefilling.remove(g)) {
          decoding.add(g);
        }
      }
    }
    for (TokenEvent e : events) {
      Generation g = e.generation();
      Handoff handoff = handoffs.remove(g);
      if (handoff != null && prefilling.remove(g)) {
        if (!e.finished()) {
          handoff.firstToken(g);
        }
        engine.release(g);
        remove(g).accept(e);
        continue;
      }
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
    paused.remove(g);
    handoffs.remove(g);
    return listeners.remove(g);
  }
}
