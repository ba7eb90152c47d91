package dev.duet.controller.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.events.EventKind;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.OpenAiRequest;
import dev.duet.controller.openai.OpenAiResponses;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceView;
import dev.duet.engine.sampling.SamplingParams;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A request served disaggregated: the decode instance reserves blocks and answers a ticket; the
 * prefill instances are offered the prompt with the ticket in order until one accepts (each refuses
 * at once when it cannot meet the TTFT budget); the one that accepts prefills, writes the KV into
 * the reserved blocks over kv-transfer and answers the first token with the request's snapshot; the
 * decode instance then resumes it and streams the rest. The client sees one answer. When no prefill
 * instance accepts, the reservation is given back and the client gets a 503. When the decode
 * instance refuses the reservation (its last load report was stale) or cannot be reached, it counts
 * as having the free blocks its refusal gave (none when unreachable) until it reports again, and
 * the request goes back to wait for room, at the head of its group's queue, for what is left of its
 * TTFT budget.
 *
 * <p>Threading: the controller's event loop.
 */
final class SplitRoute {

  private static final Logger LOG = LoggerFactory.getLogger(SplitRoute.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final WorkerClient workers;
  private final InstanceRegistry registry;
  private final OpenAiResponses responses;
  private final GatewayMetrics metrics;
  private final java.util.function.Consumer<RequestSession> track;
  private final EventLog events;

  /**
   * @param events where rejected requests (503) are recorded
   * @param track told of each request once its answer streams from the decode instance
   */
  SplitRoute(
      WorkerClient workers,
      OpenAiResponses responses,
      GatewayMetrics metrics,
      InstanceRegistry registry,
      EventLog events,
      java.util.function.Consumer<RequestSession> track) {
    this.events = events;
    this.registry = registry;
    this.workers = workers;
    this.responses = responses;
    this.metrics = metrics;
    this.track = track;
  }

  /** What one request carries through the route. */
  private record Ask(
      OpenAiRequest r,
      String id,
      String group,
      ObjectNode upstream,
      int[] prompt,
      SamplingParams params,
      InstanceView decode,
      List<InstanceView> prefills,
      long start,
      Runnable noRoom) {

    int lifetimeTokens() {
      return prompt.length + params.maxTokens();
    }
  }

  void run(
      HttpServerRequest req,
      OpenAiRequest r,
      String id,
      String group,
      ObjectNode upstream,
      int[] prompt,
      SamplingParams params,
      InstanceView decode,
      List<InstanceView> prefills,
      long start,
      Runnable noRoom) {
    Ask a = new Ask(r, id, group, upstream, prompt, params, decode, prefills, start, noRoom);
    int lifetimeTokens = a.lifetimeTokens();
    HttpServerResponse resp = req.response();
    // Counted now, synchronously, so requests arriving before the next heartbeat spread out.
    registry.noteRouted(decode.id(), 0, decode.descriptor().blocksFor(lifetimeTokens));
    if (!prefills.isEmpty()) {
      registry.noteRouted(prefills.get(0).id(), upstream.path("prompt_ids").size(), 0);
    }
    ObjectNode reserve = JSON.createObjectNode().put("id", id).put("tokens", lifetimeTokens);
    // The gateway's own time: up to the reservation's send, then from the ticket to the prefill's
    // send (the decode worker's time to reserve is the worker's, not the gateway's).
    long beforeReserve = System.nanoTime() - start;
    send(decode, "/internal/v1/reserve", reserve.toString())
        .onComplete(
            ar -> {
              long ticketAt = System.nanoTime();
              // 429: no room after all (its last report was stale); 409: it flipped meanwhile.
              if (ar.failed()) {
                refused(
                    a, resp, 0, "the decode instance " + decode.id() + " failed: " + ar.cause());
                return;
              }
              int status = ar.result().status();
              JsonNode ticket;
              try {
                ticket = JSON.readTree(ar.result().body().getBytes());
              } catch (java.io.IOException e) {
                ticket = null;
              }
              if (status == 429 || status == 409) {
                int free =
                    status == 429 && ticket != null ? ticket.path("free_kv_blocks").asInt(0) : 0;
                refused(a, resp, free, "no room for the request's KV on " + decode.id());
                return;
              }
              if (status != 200 || ticket == null || !ticket.has("region")) {
                if (status == 200) {
                  cancel(decode, id);
                }
                Gateway.error(
                    resp,
                    ApiError.upstream(
                        "decode " + decode.id() + " answered the reservation with " + status));
                return;
              }
              upstream.set("ticket", ticket);
              offer(req, a, 0, beforeReserve + (System.nanoTime() - ticketAt));
            });
  }

  private void offer(HttpServerRequest req, Ask a, int next, long routingNanos) {
    HttpServerResponse resp = req.response();
    OpenAiRequest r = a.r();
    String id = a.id();
    ObjectNode upstream = a.upstream();
    InstanceView decode = a.decode();
    List<InstanceView> prefills = a.prefills();
    long start = a.start();
    if (next >= prefills.size()) {
      cancel(decode, id);
      overloaded(
          resp, id, "every prefill instance refused the request (" + prefills.size() + " tried)");
      return;
    }
    InstanceView target = prefills.get(next);
    if (next > 0) {
      registry.noteRouted(target.id(), upstream.path("prompt_ids").size(), 0);
    }
    send(target, "/internal/v1/prefill", upstream.toString())
        .onComplete(
            ar -> {
              // 429: it cannot meet the budget; 409: it flipped to decode meanwhile.
              if (ar.failed() || ar.result().status() == 429 || ar.result().status() == 409) {
                if (ar.failed()) {
                  LOG.warn(
                      "request {}: prefill {} failed: {}", id, target.id(), ar.cause().toString());
                }
                offer(req, a, next + 1, routingNanos);
                return;
              }
              if (ar.result().status() != 200) {
                cancel(decode, id);
                Gateway.error(
                    resp,
                    ApiError.upstream(
                        "prefill " + target.id() + " answered " + ar.result().status()));
                return;
              }
              if (resp.closed()) {
                // The client left while the prompt was being prefilled: give the blocks back.
                LOG.info("request {}: the client went away during prefill; cancelling", id);
                cancel(decode, id);
                return;
              }
              JsonNode answer;
              try {
                answer = JSON.readTree(ar.result().body().getBytes());
              } catch (java.io.IOException e) {
                cancel(decode, id);
                Gateway.error(resp, ApiError.upstream("unreadable prefill"));
                return;
              }
              ClientStream stream =
                  new ClientStream(resp, r, id, start, routingNanos, responses, metrics);
              stream.accept(answer.path("event"));
              if (!answer.has("snapshot")) {
                cancel(decode, id); // the first token ended it: nothing to decode
                return;
              }
              ObjectNode resume = JSON.createObjectNode();
              resume.set("snapshot", answer.get("snapshot"));
              RequestSession session =
                  new RequestSession(
                      id, a.group(), a.prompt(), a.params(), a.lifetimeTokens(), upstream, stream);
              track.accept(session);
              post(decode, "/internal/v1/resume", resume.toString())
                  .onSuccess(up -> stream.attach(up, decode.id()))
                  .onFailure(e -> stream.broke(decode.id()));
            });
  }

  /**
   * The decode instance refused the reservation or could not be reached: until it reports again it
   * counts as having the {@code free} blocks its refusal said (0: full, or it could not say), and
   * the request waits for room again ({@code noRoom}) or, with no TTFT budget to wait within, gets
   * a 503. Nothing was reserved and no prefill started, so nothing is lost.
   */
  private void refused(Ask a, HttpServerResponse resp, int free, String why) {
    registry.noteFreeBlocks(a.decode().id(), free);
    if (a.noRoom() == null || resp.closed()) {
      overloaded(resp, a.id(), why);
      return;
    }
    LOG.info("request {}: {}; waiting for room again", a.id(), why);
    a.noRoom().run();
  }

  private void cancel(InstanceView decode, String id) {
    post(decode, "/internal/v1/cancel", JSON.createObjectNode().put("id", id).toString())
        .onSuccess(up -> up.body());
  }

  private void overloaded(HttpServerResponse resp, String id, String why) {
    metrics.rejected();
    metrics.outcome("503");
    events.record(EventKind.REJECTION, null, id, why);
    resp.putHeader("retry-after", "1");
    Gateway.error(resp, ApiError.overloaded(why));
  }

  private Future<WorkerClient.Reply> send(InstanceView target, String path, String body) {
    return workers.send(target.descriptor().endpoint(), path, body);
  }

  private Future<HttpClientResponse> post(InstanceView target, String path, String body) {
    return workers.post(target.descriptor().endpoint(), path, body);
  }
}
