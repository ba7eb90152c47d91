package dev.duet.controller.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * A streaming {@code /v1/completions} answer being read by a test: its id, and its text so far. An
 * error event fails the test. Not thread-safe: one reader.
 */
public final class CompletionStream {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final BufferedReader in;
  public final StringBuilder text = new StringBuilder();
  public String id;
  public int events;
  public boolean done;

  /** Whether the answer ended with {@code data: [DONE]} (not a dropped connection). */
  public boolean sawDone;

  /**
   * Sends {@code body} (a JSON completion request with {@code "stream": true}) to {@code url}, with
   * {@code headers} as name, value, name, value...
   */
  public CompletionStream(HttpClient http, URI url, String body, String... headers)
      throws Exception {
    HttpRequest.Builder req =
        HttpRequest.newBuilder(url).POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      req.headers(headers);
    }
    HttpResponse<java.io.InputStream> r =
        http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
  }

  /** Reads {@code n} more events (or to the end). */
  public CompletionStream read(int n) throws Exception {
    for (int i = 0; i < n && !done; ) {
      String line = in.readLine();
      if (line == null || line.equals("data: [DONE]")) {
        done = true;
        sawDone = line != null;
      } else if (line.startsWith("data: ")) {
        JsonNode c = JSON.readTree(line.substring(6));
        assertThat(c.has("error")).as(line).isFalse();
        id = c.path("id").asText();
        text.append(c.at("/choices/0/text").asText(""));
        events++;
        i++;
      }
    }
    return this;
  }

  /** The whole text, read to the end on {@code executor}. */
  public CompletableFuture<String> rest(Executor executor) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return read(Integer.MAX_VALUE).text.toString();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        },
        executor);
  }
}
