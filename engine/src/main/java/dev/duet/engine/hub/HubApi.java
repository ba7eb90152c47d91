package dev.duet.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The two hub HTTP calls Duet makes, in the hub's own URL layout:
 *
 * <ul>
 *   <li>{@code GET {endpoint}/api/models/{org}/{repo}/revision/{revision}?blobs=true}: the commit
 *       sha and every file with its size and, for LFS files, {@code lfs.sha256};
 *   <li>{@code GET {endpoint}/{org}/{repo}/resolve/{commit}/{path}}: a file's bytes, possibly after
 *       a redirect to a CDN, from an offset with {@code Range: bytes=N-}.
 * </ul>
 *
 * <p>Redirects are followed here rather than by the client so that the {@code Authorization} header
 * is dropped when a redirect leaves the endpoint's host (the CDN URL is pre-signed) and the {@code
 * Range} header is kept. Statuses become {@link HubException}s that name the URL and say what to
 * do. Thread-safe if the {@link HttpClient} is (the JDK's is).
 */
final class HubApi {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_REDIRECTS = 10;
  private static final String USER_AGENT = "duet/0.1 (java.net.http)";

  private final HubConfig config;
  private final HttpClient http;

  HubApi(HubConfig config, HttpClient http) {
    this.config = Objects.requireNonNull(config, "config");
    this.http = Objects.requireNonNull(http, "http");
  }

  /**
   * Lists the repository at {@code spec}'s revision.
   *
   * @throws HubUnreachableException when the endpoint does not answer at all
   * @throws HubException on an error status or a malformed answer
   */
  RepoListing listing(HfSpec spec) throws HubException {
    URI uri =
        URI.create(
            config.endpoint()
                + "/api/models/"
                + spec.org()
                + "/"
                + spec.repo()
                + "/revision/"
                + encode(spec.revision(), false)
                + "?blobs=true");
    String what = "repository " + HfSpec.PREFIX + spec.repoId() + " at revision " + spec.revision();
    HttpResponse<InputStream> response;
    try {
      response = send(uri, 0);
    } catch (HubException e) {
      throw e;
    } catch (IOException e) {
      throw new HubUnreachableException(
          "cannot reach " + config.endpoint() + " (" + describe(e) + ")", e);
    }
    try (InputStream body = response.body()) {
      if (response.statusCode() != 200) {
        throw statusError(what, response);
      }
      return parseListing(body.readAllBytes(), response.uri());
    } catch (HubException e) {
      throw e;
    } catch (IOException e) {
      throw new HubUnreachableException(
          "lost the connection to " + config.endpoint() + " (" + describe(e) + ")", e);
    }
  }

  /**
   * Opens {@code path} of the repository at {@code commit} from byte {@code offset} (0 for the
   * whole file). The caller closes the body; the status is 200 or, for a positive offset, possibly
   * 206 or 416, which the caller handles.
   */
  HttpResponse<InputStream> open(HfSpec spec, String commit, String path, long offset)
      throws HubException {
    URI uri = fileUri(spec, commit, path);
    String what = "file " + path + " of " + HfSpec.PREFIX + spec.repoId() + " at commit " + commit;
    HttpResponse<InputStream> response;
    try {
      response = send(uri, offset);
    } catch (HubException e) {
      throw e;
    } catch (IOException e) {
      throw new HubException("download of " + what + " failed: " + describe(e), e);
    }
    int status = response.statusCode();
    if (status == 200 || status == 206 || status == 416 && offset > 0) {
      return response;
    }
    close(response);
    throw statusError(what, response);
  }

  URI fileUri(HfSpec spec, String commit, String path) {
    return URI.create(
        config.endpoint()
            + "/"
            + spec.org()
            + "/"
            + spec.repo()
            + "/resolve/"
            + commit
            + "/"
            + encode(path, true));
  }

  private HttpResponse<InputStream> send(URI start, long offset) throws IOException, HubException {
    URI uri = start;
    for (int hop = 0; ; hop++) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(uri)
              .GET()
              .timeout(config.readTimeout())
              .header("User-Agent", USER_AGENT);
      if (config.token().isPresent() && sameHost(uri, config.endpoint())) {
        request.header("Authorization", "Bearer " + config.token().get());
      }
      if (offset > 0) {
        request.header("Range", "bytes=" + offset + "-");
      }
      HttpResponse<InputStream> response;
      try {
        response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new HubException("interrupted while fetching " + uri, e);
      }
      int status = response.statusCode();
      Optional<String> location = response.headers().firstValue("Location");
      if (status < 300 || status > 399 || status == 304 || location.isEmpty()) {
        return response;
      }
      close(response);
      if (hop == MAX_REDIRECTS) {
        throw new HubException("too many redirects (" + MAX_REDIRECTS + ") from " + start);
      }
      uri = uri.resolve(location.get());
    }
  }

  private HubException statusError(String what, HttpResponse<?> response) {
    int status = response.statusCode();
    String hubSays =
        response.headers().firstValue("X-Error-Message").map(m -> " (hub: " + m + ")").orElse("");
    String where = "HTTP " + status + " from " + response.uri() + hubSays;
    return switch (status) {
      case 401, 403 ->
          new HubException(
              what
                  + ": access denied, "
                  + where
                  + ". The repository is gated or private (or does not exist): "
                  + (config.token().isPresent()
                      ? HubConfig.ENV_TOKEN
                          + " is set but does not grant access; accept the model's terms on its hub"
                          + " page or use a token that can read it"
                      : "set "
                          + HubConfig.ENV_TOKEN
                          + " to an access token that can read it"
                          + " (https://huggingface.co/settings/tokens)"));
      case 404 -> new HubException(what + " not found, " + where);
      default -> new HubException(what + ": " + where);
    };
  }

  private static RepoListing parseListing(byte[] body, URI uri) throws HubException {
    try {
      JsonNode root = JSON.readTree(body);
      String sha = root.path("sha").asText("");
      JsonNode siblings = root.path("siblings");
      if (!siblings.isArray()) {
        throw new HubException("the hub's answer from " + uri + " has no 'siblings' list");
      }
      List<RepoFile> files = new ArrayList<>();
      for (JsonNode s : siblings) {
        JsonNode lfs = s.path("lfs");
        long size = s.path("size").asLong(lfs.path("size").asLong(-1));
        String sha256 = lfs.path("sha256").asText("");
        files.add(
            new RepoFile(
                s.path("rfilename").asText(""),
                size,
                sha256.isEmpty() ? Optional.empty() : Optional.of(sha256)));
      }
      return new RepoListing(sha, files);
    } catch (IOException | IllegalArgumentException e) {
      throw new HubException(
          "the hub's answer from " + uri + " is malformed: " + e.getMessage(), e);
    }
  }

  private static boolean sameHost(URI a, URI b) {
    return Objects.equals(a.getScheme(), b.getScheme())
        && Objects.equals(a.getHost(), b.getHost())
        && a.getPort() == b.getPort();
  }

  /**
   * Percent-encodes all but RFC 3986 unreserved characters (and {@code /} if {@code keepSlash}).
   */
  static String encode(String s, boolean keepSlash) {
    StringBuilder out = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if (c >= 'a' && c <= 'z'
          || c >= 'A' && c <= 'Z'
          || c >= '0' && c <= '9'
          || c == '-'
          || c == '.'
          || c == '_'
          || c == '~'
          || c == '/' && keepSlash) {
        out.append(c);
      } else {
        out.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return out.toString();
  }

  static String describe(IOException e) {
    String kind = e instanceof HttpTimeoutException ? "timed out" : e.getClass().getSimpleName();
    String message = e.getMessage();
    if (message == null && e.getCause() != null) {
      message = e.getCause().toString();
    }
    return message == null ? kind : kind + ": " + message;
  }

  static void close(HttpResponse<InputStream> response) {
    try {
      response.body().close();
    } catch (IOException ignored) {
      // Nothing more to read from it either way.
    }
  }
}
