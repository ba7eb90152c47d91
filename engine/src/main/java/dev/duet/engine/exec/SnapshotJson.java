package dev.duet.engine.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.sampling.RngState;
import dev.duet.engine.sampling.SamplerState;
import dev.duet.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.List;

/**
 * The JSON form of a {@link GenerationSnapshot}, as one instance hands a request to another (the
 * prefill → decode handoff, live migration). Every number round-trips exactly: the RNG words are
 * longs, floats go through their exact decimal form.
 *
 * <p>Stateless; thread-safe.
 */
public final class SnapshotJson {

  private static final ObjectMapper JSON = new ObjectMapper();

  private SnapshotJson() {}

  public static ObjectNode write(GenerationSnapshot s) {
    ObjectNode o = JSON.createObjectNode();
    o.put("id", s.id());
    o.set("prompt", JSON.valueToTree(s.prompt()));
    o.set("generated", JSON.valueToTree(s.generated()));
    o.set("params", params(s.params()));
    ObjectNode sampler = o.putObject("sampler");
    sampler.set("params", params(s.sampler().params()));
    sampler.set("rng", JSON.valueToTree(s.sampler().rng().toLongArray()));
    return o;
  }

  /**
   * @throws IllegalArgumentException naming the field when the JSON is not a snapshot
   */
  public static GenerationSnapshot read(JsonNode o) {
    try {
      JsonNode sampler = require(o, "sampler");
      JsonNode rng = require(sampler, "rng");
      long[] words = new long[rng.size()];
      for (int i = 0; i < words.length; i++) {
        words[i] = rng.get(i).asLong();
      }
      return new GenerationSnapshot(
          require(o, "id").asText(),
          ints(require(o, "prompt")),
          params(require(o, "params")),
          new SamplerState(params(require(sampler, "params")), RngState.fromLongArray(words)),
          ints(require(o, "generated")));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a generation snapshot: " + e.getMessage(), e);
    }
  }

  private static ObjectNode params(SamplingParams p) {
    ObjectNode o = JSON.createObjectNode();
    o.put("temperature", p.temperature());
    o.put("top_k", p.topK());
    o.put("top_p", p.topP());
    o.put("seed", p.seed());
    o.put("max_tokens", p.maxTokens());
    o.set("stop", JSON.valueToTree(p.stop()));
    o.put("ignore_eos", p.ignoreEos());
    return o;
  }

  private static SamplingParams params(JsonNode o) {
    List<String> stop = new ArrayList<>();
    o.path("stop").forEach(s -> stop.add(s.asText()));
    return new SamplingParams(
        o.path("temperature").floatValue(),
        o.path("top_k").asInt(),
        o.path("top_p").floatValue(),
        o.path("seed").asLong(),
        o.path("max_tokens").asInt(),
        stop,
        o.path("ignore_eos").asBoolean());
  }

  private static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  private static JsonNode require(JsonNode o, String field) {
    JsonNode v = o == null ? null : o.get(field);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException("missing '" + field + "'");
    }
    return v;
  }
}
