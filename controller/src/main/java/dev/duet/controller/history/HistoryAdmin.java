package dev.duet.controller.history;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.admin.AdminApi;
import dev.duet.controller.admin.AdminCall;
import dev.duet.controller.admin.AdminFeature;
import dev.duet.controller.admin.AdminReply;
import dev.duet.controller.gateway.LatencyWindow;
import dev.duet.controller.openai.ApiError;
import dev.duet.controller.openai.ApiException;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /admin/v1/history?since=EPOCH_MS}: the {@link ClusterHistory}'s samples taken after
 * {@code since} (default 0: all it keeps), as JSON (the shape {@code openapi.json} calls {@code
 * History}). A dashboard polls it with the last answer's {@code next_since}.
 *
 * <p>Stateless; the handler runs on the event loop and only copies the ring.
 */
public final class HistoryAdmin {

  private static final ObjectMapper JSON = new ObjectMapper();

  private HistoryAdmin() {}

  /** Serves {@code history} at {@link AdminFeature#HISTORY}. */
  public static void register(AdminApi admin, ClusterHistory history) {
    admin.register(AdminFeature.HISTORY, call -> answer(history, call));
  }

  private static Future<AdminReply> answer(ClusterHistory history, AdminCall call) {
    long since = since(call);
    List<HistorySample> samples = history.since(since);
    ObjectNode root = JSON.createObjectNode().put("object", "history");
    root.put("interval_ms", history.interval().toMillis());
    root.put("capacity", history.capacity());
    ArrayNode data = root.putArray("data");
    samples.forEach(s -> data.add(sample(s)));
    root.put("next_since", samples.isEmpty() ? since : samples.getLast().epochMillis());
    return Future.succeededFuture(AdminReply.ok(root));
  }

  private static long since(AdminCall call) {
    String v = call.query().get("since");
    if (v == null) {
      return 0;
    }
    try {
      long n = Long.parseLong(v);
      if (n >= 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw new ApiException(
        ApiError.invalid(
            "since", "since must be milliseconds since the epoch (>= 0), got '" + v + "'"));
  }

  /** One sample; a figure that does not exist (no forecast, no request finished) is null. */
  static ObjectNode sample(HistorySample s) {
    ObjectNode o = JSON.createObjectNode();
    o.put("time_ms", s.epochMillis());
    o.put("time", Instant.ofEpochMilli(s.epochMillis()).toString());
    ObjectNode roles = o.putObject("instances");
    roles.put("prefill", s.roles().prefill());
    roles.put("decode", s.roles().decode());
    roles.put("both", s.roles().both());
    number(o, "pd_ratio", s.roles().pdRatio());
    ObjectNode load = o.putObject("load");
    load.put("running", s.running());
    load.put("queued", s.queued());
    load.put("free_kv_blocks", s.freeKvBlocks());
    load.put("kv_blocks", s.kvBlocks());
    o.put("arrivals_per_s", s.arrivalsPerS());
    number(o, "forecast_arrivals_per_s", s.forecastArrivalsPerS());
    percentiles(o.putObject("ttft_ms"), s.latency().ttft());
    percentiles(o.putObject("tpot_ms"), s.latency().tpot());
    ObjectNode slo = o.putObject("slo");
    slo.put("ttft_ms", s.slo().ttftMs());
    slo.put("tpot_ms", s.slo().tpotMs());
    slo.put("attainment", s.slo().attainment());
    return o;
  }

  private static void percentiles(ObjectNode o, LatencyWindow.Percentiles p) {
    o.put("count", p.count());
    number(o, "p50", p.p50Ms());
    number(o, "p99", p.p99Ms());
  }

  private static void number(ObjectNode o, String field, double v) {
    if (Double.isNaN(v)) {
      o.putNull(field);
    } else {
      o.put(field, v);
    }
  }
}
