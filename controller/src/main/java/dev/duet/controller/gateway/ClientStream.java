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
   * Feeds the token events of {@code up} into this answer; when the client reads slower than the
   * tokens come, reading from {@code up} pauses until the client drains (TCP then pauses the
   * worker, which pauses the request).
   */
  void attach(HttpClientResponse up) {
    resp.drainHandler(v -> up.resume());
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
                up.pause();
              }
            }));
    up.exceptionHandler(x -> broke());
    up.endHandler(v -> broke());
  }

  /** One token event: {@code {token, text}}, the last with {@code finished} and counts. */
  void accept(JsonNode ev) {
    Kind kind = r.kind();
    String chunk = ev.path("text").asText("");
    boolean finished = ev.path("finished").asBoolean(false);
    String reason = finished ? ev.path("finish_reason").asText() : null;
    boolean isFirst = firstToken == 0;
    if (isFirst) {
      firstToken = System.nanoTime();
    }
    if (finished) {
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
      }
    } else {
      text.append(chunk);
      if (finished) {
        resp.putHeader("content-type", "application/json")
            .end(
                responses
                    .complete(kind, id, r.model(), text.toString(), reason, usage(ev))
                    .toString());
      }
    }
    if (isFirst) {
      metrics.overhead(routingNanos + System.nanoTime() - firstToken);
    }
  }

  /** The upstream ended or failed: a clean error unless the answer is complete. */
  void broke() {
    if (resp.ended() || resp.closed()) {
      return; // finished, or the client went away and the upstream was reset for it
    }
    LOG.warn("request {}: the worker's stream broke before the last token", id);
    metrics.outcome("upstream_failed");
    ApiError e =
        new ApiError(
            502,
            "upstream_error",
            null,
            null,
            "the instance serving this request failed before it finished; retry the request");
    if (!resp.headWritten()) {
      Gateway.error(resp, e);
    } else if (r.stream()) {
      resp.write(OpenAiResponses.sse(e.toJson()));
      resp.end(OpenAiResponses.DONE);
    } else {
      resp.reset();
    }
  }

  private static Usage usage(JsonNode ev) {
    return new Usage(ev.path("prompt_tokens").asInt(), ev.path("completion_tokens").asInt());
  }
}
