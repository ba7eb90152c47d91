package dev.duet.controller.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import dev.duet.controller.routing.GroupScope;
import dev.duet.engine.exec.GenerationSnapshot;
import dev.duet.engine.exec.SnapshotJson;
import dev.duet.engine.sampling.Sampler;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continues a request whose instance failed mid-stream. From what the client already has (the
 * prompt and the token ids delivered), plus the sampler state rebuilt from the seed ({@link
 * Sampler#stateAfter}), a healthy decode (or colocated) instance recomputes the KV and decodes on:
 * the client's stream goes on, after a pause, with exactly the tokens it would have got. Before any
 * token, the request simply starts again on a colocated instance. A request fails, with a clean
 * error, only when no instance takes it.
 *
 * <p>Threading: the controller's event loop.
 */
final class Recovery {

  private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Recoveries one request may go through before it fails. */
  static final int MAX_RECOVERIES = 3;

  private final InstanceRegistry registry;
  private final WorkerClient workers;
  private final GatewayMetrics metrics;
  private final EventLog events;
  private final java.util.function.Supplier<GroupScope> groups;

  /**
   * @param groups which instances serve which scenario group now: a request is continued on its own
   *     group's instances, or the default group's when its group has none left
   */
  Recovery(
      InstanceRegistry registry,
      WorkerClient workers,
      GatewayMetrics metrics,
      EventLog events,
      java.util.function.Supplier<GroupScope> groups) {
    this.events = events;
    this.groups = groups;
    this.registry = registry;
    this.workers = workers;
    this.metrics = metrics;
  }

  /** Arms {@code s}: when its current source breaks, it is recovered elsewhere. */
  void arm(RequestSession s) {
    s.stream.onBroken(failed -> recover(s, failed));
  }

  private void recover(RequestSession s, String failed) {
    if (s.recoveries >= MAX_RECOVERIES) {
      LOG.warn("request {}: {} recoveries already; failing it", s.id, s.recoveries);
      metrics.recovery("gave_up");
      s.stream.fail();
      return;
    }
    s.recoveries++;
    s.stream.resetUpstreams();
    List<Integer> tokens = s.stream.tokens();
    boolean fresh = tokens.isEmpty();
    GroupScope.Choice choice =
        groups
            .get()
            .choose(
                registry.alive(),
                s.group,
                i ->
                    !i.id().equals(failed)
                        && !i.cordoned()
                        && (i.descriptor().role() == InstanceRole.BOTH
                            || (!fresh && i.descriptor().role() == InstanceRole.DECODE))
                        && i.descriptor().blocksFor(s.lifetimeTokens) <= i.descriptor().kvBlocks());
    if (choice.fallback()) {
      metrics.groupFallback(s.group);
    }
    List<InstanceView> candidates =
        choice.instances().stream()
            .sorted(Comparator.comparingInt((InstanceView i) -> -i.load().freeKvBlocks()))
            .toList();
    String path;
    String body;
    if (fresh) {
      path = "/internal/v1/generate";
      body = s.upstream.toString();
    } else {
      GenerationSnapshot snap =
          new GenerationSnapshot(
              s.id,
              s.prompt,
              s.params,
              Sampler.stateAfter(s.params, tokens.size()),
              tokens.stream().mapToInt(Integer::intValue).toArray());
      ObjectNode o = JSON.createObjectNode();
      o.set("snapshot", SnapshotJson.write(snap));
      path = "/internal/v1/recover";
      body = o.toString();
    }
    LOG.warn(
        "request {}: instance {} failed after {} tokens; recovering ({} candidates)",
        s.id,
        failed,
        tokens.size(),
        candidates.size());
    offer(s, candidates, 0, path, body, System.nanoTime());
  }

  private void offer(
      RequestSession s,
      List<InstanceView> candidates,
      int next,
      String path,
      String body,
      long start) {
    if (s.stream.done()) {
      return;
    }
    if (next >= candidates.size()) {
      LOG.error("request {}: no instance can take it over; failing it", s.id);
      metrics.recovery("failed");
      events.record(EventKind.RECOVERY, null, s.id, "failed: no instance took it");
      s.stream.fail();
      return;
    }
    InstanceView target = candidates.get(next);
    workers
        .post(target.descriptor().endpoint(), path, body)
        .onComplete(
            ar -> {
              if (ar.succeeded() && ar.result().statusCode() == 200) {
                if (s.stream.done()) {
                  ar.result().request().reset();
                  return;
                }
                LOG.info(
                    "request {}: recovered on {} in {} ms",
                    s.id,
                    target.id(),
                    (System.nanoTime() - start) / 1_000_000);
                metrics.recovery("recovered");
                events.record(
                    EventKind.RECOVERY,
                    target.id(),
                    s.id,
                    "recovered after " + s.stream.tokenCount() + " tokens");
                s.stream.attach(ar.result(), target.id());
                return;
              }
              if (ar.succeeded()) {
                ar.result().body(); // drain the refusal
                LOG.info(
                    "request {}: {} refused the recovery ({})",
                    s.id,
                    target.id(),
                    ar.result().statusCode());
              } else {
                LOG.warn("request {}: {} failed: {}", s.id, target.id(), ar.cause().toString());
              }
              offer(s, candidates, next + 1, path, body, start);
            });
  }
}
