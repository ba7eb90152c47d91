package dev.duet.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.exec.TokenEvent;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The open token streams of a worker's requests, by request id: each writes its request's events as
 * NDJSON lines on its HTTP response, pauses the request while the reader is slower than generation,
 * and ends with a marker line when a migration's commit moves the request away.
 *
 * <p>Threading: events arrive on the step thread and are written on the response's event loop; the
 * map is concurrent.
 */
final class EventStreams {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final StepLoop loop;
  private final WorkerMetrics metrics;
  private final Map<String, EventStream> streams = new ConcurrentHashMap<>();

  EventStreams(StepLoop loop, WorkerMetrics metrics) {
    this.loop = loop;
    this.metrics = metrics;
  }

  /**
   * A new stream of request {@code id}'s events onto {@code resp}. It is forgotten when the
   * response ends (finished, refused, migrated) or {@link #forget}s it (its client went away).
   */
  EventStream open(
      HttpServerResponse resp, Context ctx, AtomicBoolean done, int promptTokens, String id) {
    EventStream s = new EventStream(resp, ctx, done, promptTokens, id);
    streams.put(id, s);
    resp.endHandler(v -> streams.remove(id, s));
    return s;
  }

  /** Drops request {@code id}'s open stream: its client went away before it ended. */
  void forget(String id) {
    streams.remove(id);
  }

  /** Ends request {@code id}'s stream because it now runs elsewhere; false when none is open. */
  boolean migrated(String id) {
    EventStream s = streams.get(id);
    if (s == null) {
      return false;
    }
    s.migrated();
    return true;
  }

  /** One request's events as NDJSON lines on its response. */
  final class EventStream implements Consumer<TokenEvent> {
    private final HttpServerResponse resp;
    private final Context ctx;
    private final AtomicBoolean done;
    private final int promptTokens;
    private final String id;

    EventStream(
        HttpServerResponse resp, Context ctx, AtomicBoolean done, int promptTokens, String id) {
      this.id = id;
      this.resp = resp;
      this.ctx = ctx;
      this.done = done;
      this.promptTokens = promptTokens;
    }

    @Override
    public void accept(TokenEvent ev) {
      String line = event(ev, promptTokens).toString() + "\n";
      boolean last = ev.finished();
      ctx.runOnContext(
          v -> {
            if (last) {
              done.set(true);
              streams.remove(id, this);
              metrics.finished(ev.generation().stopReason().openAiFinishReason());
              resp.end(line);
            } else {
              resp.write(line);
              backpressure(resp, ev.generation().id());
            }
          });
    }

    /** The request now runs on another instance: end this stream with a marker line. */
    void migrated() {
      streams.remove(id, this);
      ctx.runOnContext(
          v -> {
            done.set(true);
            resp.end("{\"migrated\":true}\n");
          });
    }
  }

  /**
   * A reader slower than generation: pause the request's decoding until the response drains (its
   * blocks stay; its tokens do not change).
   */
  private void backpressure(HttpServerResponse resp, String id) {
    if (resp.writeQueueFull()) {
      loop.setPaused(id, true);
      resp.drainHandler(v -> loop.setPaused(id, false));
    }
  }

  /**
   * One event line. {@code seq} orders a request's events across instances (a migration or a
   * recovery switches the controller's upstream at a token boundary): token {@code n} has seq
   * {@code n}, and an end without a token (EOS) comes right after the last token.
   */
  static ObjectNode event(TokenEvent ev, int promptTokens) {
    ObjectNode o = JSON.createObjectNode();
    int count = ev.generation().generatedCount();
    o.put("seq", ev.token() >= 0 ? count : count + 1);
    if (ev.token() >= 0) {
      o.put("token", ev.token());
    }
    o.put("text", ev.text());
    if (ev.finished()) {
      o.put("finished", true);
      o.put("finish_reason", ev.generation().stopReason().openAiFinishReason());
      o.put("prompt_tokens", promptTokens);
      o.put("completion_tokens", ev.generation().generatedCount());
    }
    return o;
  }
}
