package dev.duet.controller.routing;

import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceView;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Picks instances for a request from a snapshot of the live ones; no I/O, no state.
 *
 * <p>Only routable instances count: alive and not cordoned by an operator.
 *
 * <p><b>Decode first.</b> Among live decode-capable instances whose free KV blocks hold the
 * request's whole life (prompt plus {@code max_tokens}), the lightest: fewest running requests
 * relative to its batch size, then most free blocks, then id (a stable tie-break).
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

  /** A route, or empty when no live decode instance has room (the caller answers 503). */
  public Optional<RoutePlan> plan(List<InstanceView> instances, int promptTokens, int maxTokens) {
    return plan(instances, instances, promptTokens, maxTokens);
  }

  /**
   * A route with the decode instance taken from {@code decodePool} and the prefill candidates from
   * {@code prefillPool} (a request's scenario group may fall back to the default group's instances
   * for one role only: {@link GroupScope}).
   */
  public Optional<RoutePlan> plan(
      List<InstanceView> decodePool,
      List<InstanceView> prefillPool,
      int promptTokens,
      int maxTokens) {
    int tokens = promptTokens + maxTokens;
    Optional<InstanceView> decode =
        decodePool.stream()
            .filter(InstanceView::routable)
            .filter(i -> i.descriptor().role().decodes())
            .filter(i -> i.load().freeKvBlocks() >= i.descriptor().blocksFor(tokens))
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
