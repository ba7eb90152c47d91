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

  /** Sends it and reads the stream to its end; empty when it failed or broke. */
  static Optional<Timing> send(
      HttpClient http, URI base, String model, int[] prompt, int outputTokens) {
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
        resp.body().close();
        return Optional.empty();
      }
      long first = 0;
      int tokens = 0;
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
          return Optional.empty();
        }
      }
      long t1 = System.nanoTime();
      if (!done || first == 0) {
        return Optional.empty();
      }
      double tpot = tokens > 1 ? (t1 - first) / 1e6 / (tokens - 1) : 0;
      return Optional.of(new Timing((first - t0) / 1e6, tpot, (t1 - t0) / 1e6, tokens));
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return Optional.empty();
    }
  }
}
