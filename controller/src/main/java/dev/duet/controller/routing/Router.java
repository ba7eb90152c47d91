package dev.duet.controller.routing;

import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.registry.StepTime;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Picks instances for a request from a snapshot of the live ones; no I/O, no state.
 *
 * <p>Only routable instances count: alive and not cordoned by an operator.
 *
 * <p><b>Decode first.</b> Among live decode-capable instances whose free KV blocks hold the
 * request's whole life (prompt plus {@code max_tokens}) and, when the caller gives a TPOT SLO (the
 * policy's opt-in {@code admission.tpotBatchCap}), whose streams are fewer than the batch it allows
 * ({@link #batchCap}), the lightest: fewest running requests relative to its batch size, then most
 * free blocks, then id (a stable tie-break).
 *
 * <p>The batch cap is what vLLM's {@code max_num_seqs} is, set from the SLO and the instance's own
 * measured pass time instead of by hand: a decode pass of {@code b} rows takes {@code f + r·b} ms
 * (the worker fits it), so past {@code (TPOT − f) / r} rows every stream on the instance decodes
 * slower than the SLO. KV memory alone does not bound it: an H100 holds ~480k tokens of Llama-3-8B
 * KV, hundreds of streams, and packing them all made every stream miss the TPOT SLO ({@code duet
 * bench tidal --kv-memory-mb 800}, docs/planner.md). A request that finds every decode instance at
 * its cap waits for room as one that finds no KV room does. The planner sizes decode for the same
 * batch ({@code RoleSizing.decode}).
 *
 * <p><b>Then prefill, fittest first.</b> Live prefill-capable instances ordered by their estimated
 * wait before they could start this prompt: tokens queued ahead of it over their measured prefill
 * throughput (an instance not yet measured counts only its queue length, which puts idle instances
 * first). The controller offers the request to them in this order; each may still reject on its own
 * up-to-date view (on-demand forwarding), so the estimate only orders, never admits.
 *
 * <p>Stateless; thread-safe.
 */
public final class Router {

  /**
   * A route with no TPOT SLO to keep (no batch cap), or empty when no live decode instance has room
   * (the caller answers 503).
   */
  public Optional<RoutePlan> plan(List<InstanceView> instances, int promptTokens, int maxTokens) {
    return plan(instances, instances, promptTokens, maxTokens, 0);
  }

  /**
   * A route with the decode instance taken from {@code decodePool} and the prefill candidates from
   * {@code prefillPool} (a request's scenario group may fall back to the default group's instances
   * for one role only: {@link GroupScope}), for a request whose TPOT SLO is {@code tpotMs} (0:
   * none, no batch cap).
   */
  public Optional<RoutePlan> plan(
      List<InstanceView> decodePool,
      List<InstanceView> prefillPool,
      int promptTokens,
      int maxTokens,
      double tpotMs) {
    int tokens = promptTokens + maxTokens;
    Optional<InstanceView> decode =
        decodePool.stream()
            .filter(InstanceView::routable)
            .filter(i -> i.descriptor().role().decodes())
            .filter(i -> i.load().freeKvBlocks() >= i.descriptor().blocksFor(tokens))
            .filter(i -> underBatchCap(i, tpotMs))
            .min(
                Comparator.comparingDouble(Router::batchFill)
                    .thenComparing(i -> -i.load().freeKvBlocks())
                    .thenComparing(InstanceView::id));
    if (decode.isEmpty()) {
      return Optional.empty();
    }
    List<InstanceView> prefill =
        prefillPool.stream()
            .filter(InstanceView::routable)
            .filter(i -> i.descriptor().role().prefills())
            .sorted(
                Comparator.comparingDouble(Router::estimatedWaitSeconds)
                    .thenComparing(i -> i.load().running())
                    .thenComparing(InstanceView::id))
            .toList();
    return prefill.isEmpty() ? Optional.empty() : Optional.of(new RoutePlan(decode.get(), prefill));
  }

  /**
   * The most streams an instance whose decode pass takes {@code step} runs within a TPOT SLO of
   * {@code tpotMs}: {@code floor((tpotMs − f) / r)}, at least 1 (a stream alone is served however
   * slow a pass is); unbounded without an SLO, before the pass time is measured, when a row costs
   * nothing, or while the fit has no fixed part.
   *
   * <p>A fit without a fixed part is the worker's proportional reading (one batch size seen so far,
   * or a line through the origin): it charges the weight read every pass pays to the rows. That is
   * the cautious reading for sizing, but as a cap it is far too tight: a GPU's 1-row pass of 24 ms
   * read as 24 ms a row caps a 150 ms TPOT at 6 streams, where the separated fit (24 + 0.26 ms a
   * row) allows about 480. With it, {@code CompressedTideIT} had decode instances refuse a
   * prompt-heavy phase's requests whose decode lasts one pass.
   */
  public static int batchCap(StepTime step, double tpotMs) {
    if (!(tpotMs > 0) || !(step.fixedMs() > 0) || !(step.perRowMs() > 0)) {
      return Integer.MAX_VALUE;
    }
    double rows = Math.floor((tpotMs - step.fixedMs()) / step.perRowMs());
    return rows >= Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) Math.max(1, rows);
  }

  /** Whether {@code i} runs fewer streams than {@link #batchCap} allows it at {@code tpotMs}. */
  public static boolean underBatchCap(InstanceView i, double tpotMs) {
    return i.load().streams() < batchCap(i.load().decodeStep(), tpotMs);
  }

  private static double batchFill(InstanceView i) {
    return (double) i.load().running() / i.descriptor().maxBatch();
  }

  /** Seconds of queued prefill work ahead of a new prompt; unmeasured: its queue length. */
  static double estimatedWaitSeconds(InstanceView i) {
    InstanceLoad l = i.load();
    if (l.prefillTokensPerS() <= 0) {
      return l.queued() + l.running() * 1e-3;
    }
    return l.queuedPromptTokens() / l.prefillTokensPerS();
  }
}
