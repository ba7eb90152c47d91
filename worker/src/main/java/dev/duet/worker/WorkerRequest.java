package dev.duet.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.engine.model.Model;
import dev.duet.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.List;

/**
 * A generate or prefill request as the controller sends it: {@code {"id", "prompt_ids" | "prompt",
 * "params": {temperature, top_k, top_p, seed, max_tokens, stop, ignore_eos}, "ttft_budget_ms"}}.
 * Immutable.
 */
record WorkerRequest(String id, int[] prompt, SamplingParams params, long ttftBudgetNanos) {

  static WorkerRequest parse(JsonNode root, Model model) {
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("the body must be a JSON object");
    }
    String id = root.path("id").asText("");
    if (id.isBlank()) {
      throw new IllegalArgumentException("id is required");
    }
    int[] prompt;
    if (root.has("prompt_ids")) {
      JsonNode ids = root.get("prompt_ids");
      prompt = new int[ids.size()];
      for (int i = 0; i < prompt.length; i++) {
        int t = ids.get(i).asInt(-1);
        if (!ids.get(i).isInt() || t < 0 || t >= model.config().vocabSize()) {
          throw new IllegalArgumentException("prompt_ids[" + i + "] is not a token id");
        }
        prompt[i] = t;
      }
    } else if (root.path("prompt").isTextual()) {
      prompt = model.tokenizer().encode(root.get("prompt").asText());
    } else {
      throw new IllegalArgumentException("prompt_ids (token ids) or prompt (text) is required");
    }
    if (prompt.length == 0) {
      throw new IllegalArgumentException("the prompt is empty");
    }
    JsonNode p = root.path("params");
    List<String> stop = new ArrayList<>();
    p.path("stop").forEach(s -> stop.add(s.asText()));
    SamplingParams params =
        new SamplingParams(
            (float) p.path("temperature").asDouble(0),
            p.path("top_k").asInt(0),
            (float) p.path("top_p").asDouble(1),
            p.path("seed").asLong(0),
            p.path("max_tokens").asInt(16),
            stop,
            p.path("ignore_eos").asBoolean(false));
    long budget = (long) (root.path("ttft_budget_ms").asDouble(0) * 1e6);
    return new WorkerRequest(id, prompt, params, budget);
  }
}
