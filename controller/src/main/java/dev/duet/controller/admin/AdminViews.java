package dev.duet.controller.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.events.ClusterEvent;
import dev.duet.controller.events.EventPage;
import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.controller.registry.InstanceLoad;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.registry.InstanceView;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The operator API's JSON documents (the shapes {@code openapi.json} describes): an instance, the
 * cluster summary, a page of events. Pure functions of a snapshot; no I/O.
 *
 * <p>Stateless; thread-safe.
 */
final class AdminViews {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The values of {@link #state}, in the order the summary lists them. */
  private static final List<String> STATES = List.of("alive", "cordoned", "dead");

  private AdminViews() {}

  /** {@code alive}, {@code cordoned} (alive but taking nothing new) or {@code dead}. */
  static String state(InstanceView v) {
    return !v.alive() ? "dead" : v.cordoned() ? "cordoned" : "alive";
  }

  /** One instance; {@code nowNanos} on the registry's monotonic clock gives the heartbeat age. */
  static ObjectNode instance(InstanceView v, long nowNanos) {
    InstanceDescriptor d = v.descriptor();
    InstanceLoad l = v.load();
    ObjectNode o = JSON.createObjectNode();
    o.put("id", v.id());
    o.put("role", d.role().wireName());
    o.put("state", state(v));
    o.put("cordoned", v.cordoned());
    o.put("endpoint", d.endpoint());
    o.put("model", d.model());
    o.put("group", d.group());
    o.put("last_heartbeat_age_ms", Math.max(0, nowNanos - v.lastHeartbeatNanos()) / 1_000_000);
    ObjectNode load = o.putObject("load");
    load.put("running", l.running());
    load.put("queued", l.queued());
    load.put("queued_prompt_tokens", l.queuedPromptTokens());
    load.put("reserved", l.reserved());
    load.put("free_kv_blocks", l.freeKvBlocks());
    load.put("used_kv_blocks", Math.max(0, d.kvBlocks() - l.freeKvBlocks()));
    load.put("prefill_tokens_per_s", l.prefillTokensPerS());
    load.put("decode_tokens_per_s", l.decodeTokensPerS());
    ObjectNode cap = o.putObject("capacity");
    cap.put("kv_blocks", d.kvBlocks());
    cap.put("block_size", d.blockSize());
    cap.put("kv_tokens", (long) d.kvBlocks() * d.blockSize());
    cap.put("max_batch", d.maxBatch());
    return o;
  }

  /** {@code {"object": "list", "data": [instance...]}}. */
  static ObjectNode instances(List<InstanceView> all, long nowNanos) {
    ObjectNode root = JSON.createObjectNode().put("object", "list");
    ArrayNode data = root.putArray("data");
    for (InstanceView v : all) {
      data.add(instance(v, nowNanos));
    }
    return root;
  }

  /**
   * The cluster summary. Load totals count live instances only (a dead one's last report is stale).
   * {@code groups} holds, for each scenario group that has an instance, the same counts as {@code
   * instances} over that group's instances, by group name in alphabetical order.
   */
  static ObjectNode cluster(
      List<InstanceView> all, int inFlight, double arrivalsPerS, long lastEventId) {
    ObjectNode root = JSON.createObjectNode();
    counts(root.putObject("instances"), all);
    ObjectNode groups = root.putObject("groups");
    Map<String, List<InstanceView>> byGroup =
        all.stream()
            .collect(
                Collectors.groupingBy(
                    v -> v.descriptor().group(), TreeMap::new, Collectors.toList()));
    byGroup.forEach((group, members) -> counts(groups.putObject(group), members));
    List<InstanceView> alive = all.stream().filter(InstanceView::alive).toList();
    ObjectNode totals = root.putObject("totals");
    totals.put("running", alive.stream().mapToLong(v -> v.load().running()).sum());
    totals.put("queued", alive.stream().mapToLong(v -> v.load().queued()).sum());
    totals.put(
        "queued_prompt_tokens", alive.stream().mapToLong(v -> v.load().queuedPromptTokens()).sum());
    long kv = alive.stream().mapToLong(v -> v.descriptor().kvBlocks()).sum();
    long free = alive.stream().mapToLong(v -> v.load().freeKvBlocks()).sum();
    totals.put("kv_blocks", kv);
    totals.put("free_kv_blocks", free);
    totals.put("used_kv_blocks", Math.max(0, kv - free));
    ObjectNode requests = root.putObject("requests");
    requests.put("in_flight", inFlight);
    ObjectNode rates = root.putObject("rates");
    rates.put("arrivals_per_s", arrivalsPerS);
    rates.put(
        "prefill_tokens_per_s",
        alive.stream().mapToDouble(v -> v.load().prefillTokensPerS()).sum());
    rates.put(
        "decode_tokens_per_s", alive.stream().mapToDouble(v -> v.load().decodeTokensPerS()).sum());
    root.put("last_event_id", lastEventId);
    return root;
  }

  /** Fills {@code o} with {@code total}, {@code by_state} and {@code by_role} over {@code vs}. */
  private static void counts(ObjectNode o, List<InstanceView> vs) {
    o.put("total", vs.size());
    ObjectNode byState = o.putObject("by_state");
    for (String s : STATES) {
      byState.put(s, vs.stream().filter(v -> state(v).equals(s)).count());
    }
    ObjectNode byRole = o.putObject("by_role");
    for (InstanceRole role : InstanceRole.values()) {
      ObjectNode r = byRole.putObject(role.wireName());
      for (String s : STATES) {
        r.put(
            s,
            vs.stream().filter(v -> v.descriptor().role() == role && state(v).equals(s)).count());
      }
    }
  }

  /** One event. */
  static ObjectNode event(ClusterEvent e) {
    ObjectNode o = JSON.createObjectNode();
    o.put("id", e.id());
    o.put("time", e.time().toString());
    o.put("kind", e.kind().wireName());
    o.put("instance", e.instance());
    o.put("request", e.request());
    o.put("detail", e.detail());
    return o;
  }

  /** {@code {"object": "list", "data": [...], "next", "has_more", "dropped"}}. */
  static ObjectNode events(EventPage page) {
    ObjectNode root = JSON.createObjectNode().put("object", "list");
    ArrayNode data = root.putArray("data");
    for (ClusterEvent e : page.events()) {
      data.add(event(e));
    }
    root.put("next", page.next());
    root.put("has_more", page.more());
    root.put("dropped", page.dropped());
    return root;
  }
}
