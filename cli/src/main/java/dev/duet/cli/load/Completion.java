package dev.duet.cli.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One streamed completion of a load generator, timed: a prompt of token ids, greedy, run to its
 * length ({@code ignore_eos}). Stateless; thread-safe (blocks its caller, a virtual thread).
 */
final class Completion {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Completion() {}

  /**
   * How one request went.
   *
   * @param ttftMs send to first token, ms
   * @param tpotMs mean time per output token after the first, ms (0 for one token)
   * @param e2eMs send to last byte, ms
   * @param tokens tokens generated
   */
  record Timing(double ttftMs, double tpotMs, double e2eMs, int tokens) {}

  /**
   * A request's end: its timing, or why it failed.
   *
   * @param timing present when it completed
   * @param failure why it did not ("HTTP 503: …", "stream error: …", "stream ended after 7 tokens
   *     without [DONE]", an exception), empty when it completed
   */
  record Outcome(Optional<Timing> timing, String failure) {
    static Outcome failed(String why) {
      return new Outcome(Optional.empty(), why);
    }

    boolean ok() {
      return timing.isPresent();
    }
  }

  /** Sends it and reads the stream to its end. */
  static Outcome send(HttpClient http, URI base, String model, int[] prompt, int outputTokens) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    body.set("prompt", JSON.valueToTree(prompt));
    body.put("max_tokens", outputTokens);
    body.put("temperature", 0);
    body.put("ignore_eos", true);
    body.put("stream", true);
    body.putObject("stream_options").put("include_usage", true);
    HttpRequest req =
        HttpRequest.newBuilder(base.resolve("/v1/completions"))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
            .build();
    long t0 = System.nanoTime();
    try {
      HttpResponse<Stream<String>> resp = http.send(req, HttpResponse.BodyHandlers.ofLines());
      if (resp.statusCode() != 200) {
        String text;
        try (Stream<String> lines = resp.body()) {
          text = String.join(" ", lines.toList());
        }
        return Outcome.failed("HTTP " + resp.statusCode() + ": " + errorMessage(text));
      }
      long first = 0;
      int tokens = 0;
      int seen = 0;
      boolean done = false;
      for (String line : (Iterable<String>) resp.body()::iterator) {
        if (!line.startsWith("data: ")) {
          continue;
        }
        if (first == 0) {
          first = System.nanoTime();
        }
        String data = line.substring("data: ".length());
        if (data.equals("[DONE]")) {
          done = true;
          break;
        }
        JsonNode ev = JSON.readTree(data);
        if (ev.has("usage")) {
          tokens = ev.path("usage").path("completion_tokens").asInt();
        }
        if (ev.has("error")) {
          return Outcome.failed("stream error: " + errorMessage(data));
        }
        if (ev.has("choices")) {
          seen++;
        }
      }
      long t1 = System.nanoTime();
      if (!done || first == 0) {
        return Outcome.failed("stream ended after " + seen + " events without [DONE]");
      }
      double tpot = tokens > 1 ? (t1 - first) / 1e6 / (tokens - 1) : 0;
      return new Outcome(
          Optional.of(new Timing((first - t0) / 1e6, tpot, (t1 - t0) / 1e6, tokens)), "");
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return Outcome.failed(e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  /** An OpenAI-style error body's code and message, else the text itself (shortened). */
  private static String errorMessage(String text) {
    try {
      JsonNode error = JSON.readTree(text).path("error");
      if (error.isObject()) {
        return error.path("code").asText(error.path("type").asText("error"))
            + ": "
            + error.path("message").asText();
      }
    } catch (Exception e) {
      // not JSON: say what came
    }
    return text.length() > 200 ? text.substring(0, 200) + "…" : text;
  }
}
