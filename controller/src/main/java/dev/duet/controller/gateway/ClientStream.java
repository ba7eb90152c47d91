package dev.duet.controller.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.OpenAiRequest;
import dev.duet.controller.openai.OpenAiRequest.Kind;
import dev.duet.controller.openai.OpenAiResponses;
import dev.duet.controller.openai.OpenAiResponses.Usage;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.parsetools.RecordParser;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client's answer, fed with the workers' token events (NDJSON lines from one or, across a
 * prefill → decode handoff, two upstreams): server-sent chunks as they come, or one JSON object at
 * the end. Records TTFT, TPOT, end-to-end time and the gateway's own overhead. An upstream that
 * breaks before the last token ends the answer with an OpenAI error (an error event and {@code
 * [DONE]} once streaming), never a hang.
 *
 * <p>Threading: the controller's event loop only.
 */
final class ClientStream {

  private static final Logger LOG = LoggerFactory.getLogger(ClientStream.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServerResponse resp;
  private final OpenAiRequest r;
  private final String id;
  private final long start;
  private final long routingNanos;
  private final OpenAiResponses responses;
  private final GatewayMetrics metrics;
  private final StringBuilder text = new StringBuilder();
  private long firstToken;
  private boolean first = true;
  private final java.util.TreeMap<Integer, JsonNode> pending = new java.util.TreeMap<>();
  private final List<Integer> tokens = new java.util.ArrayList<>();
  private final List<Upstream> upstreams = new java.util.ArrayList<>();
  private int delivered;

  private Upstream current;
  private java.util.function.Consumer<String> recover;
  private Runnable eventListener;
  private Runnable done = () -> {};

  /** A worker's response this answer reads events from. */
  private record Upstream(HttpClientResponse response, String instance) {}

  ClientStream(
      HttpServerResponse resp,
      OpenAiRequest r,
      String id,
      long start,
      long routingNanos,
      OpenAiResponses responses,
      GatewayMetrics metrics) {
    this.resp = resp;
    this.r = r;
    this.id = id;
    this.start = start;
    this.routingNanos = routingNanos;
    this.responses = responses;
    this.metrics = metrics;
    if (r.stream()) {
      resp.setChunked(true)
          .putHeader("content-type", "text/event-stream")
          .putHeader("cache-control", "no-cache");
    }
  }

  /**
   * Feeds the token events of {@code up} into this answer and makes it the current source: events
   * are delivered in {@code seq} order whichever upstream they come from (duplicates dropped), so a
   * migration or a recovery can switch sources at a token boundary while the old source's last
   * lines are still on their way. When the client reads slower than the tokens come, reading pauses
   * until the client drains (TCP then pauses the worker, which pauses the request).
   *
   * @param instance the instance {@code up} comes from
   */
  void attach(HttpClientResponse up, String instance) {
    Upstream u = new Upstream(up, instance);
    current = u;
    upstreams.add(u);
    resp.drainHandler(v -> upstreams.forEach(x -> x.response.resume()));
    up.handler(
        RecordParser.newDelimited(
            "\n",
            line -> {
              try {
                accept(JSON.readTree(line.getBytes()));
              } catch (java.io.IOException e) {
                LOG.error("request {}: unreadable event from the worker: {}", id, line);
              }
              if (!resp.ended() && resp.writeQueueFull()) {
                upstreams.forEach(x -> x.response.pause());
              }
            }));
    up.exceptionHandler(x -> ended(u));
    up.endHandler(v -> ended(u));
  }

  /** Sets what happens when the current source breaks (recovery); by default the answer fails. */
  void onBroken(java.util.function.Consumer<String> recover) {
    this.recover = recover;
  }

  /**
   * Runs {@code done} once the client's answer is complete, failed or abandoned (the response's end
   * handler is the gateway's, so this one is called from the paths that end it).
   */
  void onDone(Runnable done) {
    this.done = done;
    if (done()) {
      done.run();
    }
    resp.closeHandler(
        v -> {
          if (!resp.ended()) {
            LOG.info("request {}: the client went away; cancelling upstream", id);
            List.copyOf(upstreams).forEach(x -> x.response.request().reset());
          }
          done.run();
        });
  }

  /** The instance of the current source, or null before one is attached. */
  String instance() {
    return current == null ? null : current.instance;
  }

  /** How many tokens the client has got so far. */
  int tokenCount() {
    return tokens.size();
  }

  /** Token ids delivered to the client so far, in order (a copy). */
  List<Integer> tokens() {
    return List.copyOf(tokens);
  }

  /** Whether the answer is complete (or failed) or the client left. */
  boolean done() {
    return resp.ended() || resp.closed();
  }

  /** Resets every upstream request (each worker cancels its copy and frees its blocks). */
  void resetUpstreams() {
    List.copyOf(upstreams).forEach(x -> x.response.request().reset());
    upstreams.clear();
    current = null;
  }

  private void ended(Upstream u) {
    upstreams.remove(u);
    if (done()) {
      return;
    }
    boolean gap = !pending.isEmpty() && pending.firstKey() > delivered + 1;
    if (u == current || (gap && upstreams.stream().noneMatch(x -> x != current))) {
      // The current source ended without the last token, or an old one ended before handing
      // over every token it had: continue from what the client has.
      pending.clear();
      broke(u.instance);
    }
  }

  /** One event line from a worker: ordered by {@code seq}, then delivered. */
  void accept(JsonNode ev) {
    if (ev.has("migrated")) {
      return; // the old source's end after a migration commit
    }
    int seq = ev.path("seq").asInt(delivered + 1);
    if (seq <= delivered) {
      return; // already delivered from another source
    }
    if (seq == delivered + 1 && pending.isEmpty()) {
      next(ev); // in order: the usual case, one source, nothing held back
    } else {
      pending.put(seq, ev);
    }
    while (!pending.isEmpty() && pending.firstKey() == delivered + 1) {
      next(pending.pollFirstEntry().getValue());
    }
  }

  private void next(JsonNode ev) {
    if (done()) {
      return;
    }
    delivered++;
    if (ev.has("token")) {
      tokens.add(ev.get("token").asInt());
    }
    deliver(ev);
    if (eventListener != null) {
      eventListener.run();
    }
  }

  /** Runs after each delivered event (a migration measures its downtime with it). */
  void onEvent(Runnable listener) {
    this.eventListener = listener;
  }

  /** One token event: {@code {token, text}}, the last with {@code finished} and counts. */
  private void deliver(JsonNode ev) {
    Kind kind = r.kind();
    String chunk = ev.path("text").asText("");
    boolean finished = ev.path("finished").asBoolean(false);
    String reason = finished ? ev.path("finish_reason").asText() : null;
    boolean isFirst = firstToken == 0;
    if (isFirst) {
      firstToken = System.nanoTime();
      metrics.listener().firstToken(id, firstToken - start);
    }
    if (finished) {
      metrics
          .listener()
          .finished(
              id,
              firstToken - start,
              System.nanoTime() - start,
              ev.path("completion_tokens").asInt());
      metrics.completed(
          firstToken - start,
          System.nanoTime() - start,
          ev.path("completion_tokens").asInt(),
          reason);
    }
    if (r.stream()) {
      if (!chunk.isEmpty() || first) {
        resp.write(OpenAiResponses.sse(responses.chunk(kind, id, r.model(), first, chunk, null)));
        first = false;
      }
      if (finished) {
        resp.write(OpenAiResponses.sse(responses.chunk(kind, id, r.model(), false, "", reason)));
        if (r.includeUsage()) {
          resp.write(OpenAiResponses.sse(responses.usageChunk(kind, id, r.model(), usage(ev))));
        }
        resp.end(OpenAiResponses.DONE);
        done.run();
      }
    } else {
      text.append(chunk);
      if (finished) {
        resp.putHeader("content-type", "application/json")
            .end(
                responses
                    .complete(kind, id, r.model(), text.toString(), reason, usage(ev))
                    .toString());
        done.run();
      }
    }
    if (isFirst) {
      metrics.overhead(routingNanos + System.nanoTime() - firstToken);
    }
  }

  /**
   * The source on {@code instance} ended or failed before the last token: recovery when set, else a
   * clean error.
   */
  void broke(String instance) {
    if (done()) {
      return; // finished, or the client went away and the upstream was reset for it
    }
    if (recover != null) {
      recover.accept(instance);
      return;
    }
    fail();
  }

  /** Ends the answer with a clean error: no instance can continue it. */
  void fail() {
    if (done()) {
      return;
    }
    LOG.warn("request {}: the worker's stream broke before the last token", id);
    metrics.outcome("upstream_failed");
    ApiError e =
        ApiError.upstream(
            "the instance serving this request failed before it finished; retry the request");
    if (!resp.headWritten()) {
      Gateway.error(resp, e);
    } else if (r.stream()) {
      resp.write(OpenAiResponses.sse(e.toJson()));
      resp.end(OpenAiResponses.DONE);
    } else {
      resp.reset();
    }
    done.run();
  }

  private static Usage usage(JsonNode ev) {
    return new Usage(ev.path("prompt_tokens").asInt(), ev.path("completion_tokens").asInt());
  }
}
