package dev.duet.controller.gateway;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.time.Duration;

/**
 * The controller's calls to a worker's internal API: a JSON body posted to a path on the worker's
 * endpoint, answered as a response to stream or as a whole body; and short calls with a deadline (a
 * load look, a role change) answered as a whole body.
 *
 * <p>Threading: the controller's event loop (Vert.x client).
 */
public final class WorkerClient {

  /** A worker's whole answer. */
  public record Reply(int status, Buffer body) {}

  private final HttpClient client;

  public WorkerClient(HttpClient client) {
    this.client = client;
  }

  /**
   * Posts {@code body} to {@code path} on {@code endpoint}; the response is the caller's to read.
   */
  Future<HttpClientResponse> post(String endpoint, String path, String body) {
    return client
        .request(options(HttpMethod.POST, endpoint, path))
        .compose(c -> c.send(Buffer.buffer(body)));
  }

  /** Posts and reads the whole answer. */
  Future<Reply> send(String endpoint, String path, String body) {
    return post(endpoint, path, body).compose(WorkerClient::whole);
  }

  /** Posts and reads the whole answer; fails if the worker sends nothing for {@code timeout}. */
  public Future<Reply> send(String endpoint, String path, String body, Duration timeout) {
    return client
        .request(options(HttpMethod.POST, endpoint, path).setTimeout(timeout.toMillis()))
        .compose(c -> c.send(Buffer.buffer(body)))
        .compose(WorkerClient::whole);
  }

  /**
   * Gets {@code path} on {@code endpoint} and reads the whole answer; fails if the worker sends
   * nothing for {@code timeout}.
   */
  public Future<Reply> get(String endpoint, String path, Duration timeout) {
    return client
        .request(options(HttpMethod.GET, endpoint, path).setTimeout(timeout.toMillis()))
        .compose(c -> c.send())
        .compose(WorkerClient::whole);
  }

  private static RequestOptions options(HttpMethod method, String endpoint, String path) {
    URI uri = URI.create(endpoint);
    return new RequestOptions()
        .setMethod(method)
        .setHost(uri.getHost())
        .setPort(uri.getPort())
        .setURI(path)
        .putHeader("content-type", "application/json");
  }

  private static Future<Reply> whole(HttpClientResponse r) {
    return r.body().map(b -> new Reply(r.statusCode(), b));
  }
}
