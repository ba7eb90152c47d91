package dev.duet.controller.gateway;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;

/**
 * The controller's calls to a worker's internal API: a JSON body posted to a path on the worker's
 * endpoint, answered as a response to stream or as a whole body.
 *
 * <p>Threading: the controller's event loop (Vert.x client).
 */
final class WorkerClient {

  /** A worker's whole answer. */
  record Reply(int status, Buffer body) {}

  private final HttpClient client;

  WorkerClient(HttpClient client) {
    this.client = client;
  }

  /**
   * Posts {@code body} to {@code path} on {@code endpoint}; the response is the caller's to read.
   */
  Future<HttpClientResponse> post(String endpoint, String path, String body) {
    URI uri = URI.create(endpoint);
    return client
        .request(
            new RequestOptions()
                .setMethod(HttpMethod.POST)
                .setHost(uri.getHost())
                .setPort(uri.getPort())
                .setURI(path)
                .putHeader("content-type", "application/json"))
        .compose(c -> c.send(Buffer.buffer(body)));
  }

  /** Posts and reads the whole answer. */
  Future<Reply> send(String endpoint, String path, String body) {
    return post(endpoint, path, body)
        .compose(up -> up.body().map(b -> new Reply(up.statusCode(), b)));
  }
}
