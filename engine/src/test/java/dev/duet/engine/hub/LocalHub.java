package dev.duet.engine.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face hub on 127.0.0.1 for tests, in the real hub's URL layout: {@code
 * /api/models/ORG/REPO/revision/REV} lists a commit's files (with sizes and, for LFS files,
 * sha256), {@code /ORG/REPO/resolve/REV/PATH} serves them, LFS files through a 302 to {@code
 * /cdn/SHA256} as the real hub redirects to its CDN. Both serve {@code Range: bytes=N-} with 206.
 * It can require a bearer token, corrupt a file, ignore ranges, or stall mid-body; it records every
 * request.
 *
 * <p>Files are staged with {@link #file} and published under a commit sha with {@link #commit}.
 * Thread-safe: the server answers on its own threads.
 */
final class LocalHub implements AutoCloseable {
  /** One request as the server saw it. */
  record Request(String path, String range, String authorization) {}

  private record Blob(byte[] bytes, boolean lfs, String sha256) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern API =
      Pattern.compile("/api/models/([^/]+)/([^/]+)/revision/([^/?]+)");
  private static final Pattern RESOLVE = Pattern.compile("/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)");
  private static final Pattern CDN = Pattern.compile("/cdn/([0-9a-f]{64})");

  private final String org;
  private final String repo;
  private final HttpServer server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final Map<String, Blob> staged = new LinkedHashMap<>();
  private final Map<String, Map<String, Blob>> commits = new ConcurrentHashMap<>();
  private final Map<String, String> refs = new ConcurrentHashMap<>();
  private final Map<String, Blob> byHash = new ConcurrentHashMap<>();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final Set<String> corrupt = ConcurrentHashMap.newKeySet();
  private volatile String token;
  private volatile boolean ignoreRanges;
  private volatile String stallPath;
  private volatile LocalHub cdn;
  private volatile int listingStatus;

  LocalHub(String org, String repo) throws IOException {
    this.org = org;
    this.repo = repo;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(threads);
    server.createContext("/", this::handle);
    server.start();
  }

  URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** Stages a file for the next {@link #commit}; LFS files are listed with their sha256. */
  LocalHub file(String path, byte[] bytes, boolean lfs) {
    staged.put(path, new Blob(bytes.clone(), lfs, sha256(bytes)));
    return this;
  }

  LocalHub remove(String path) {
    staged.remove(path);
    return this;
  }

  /** Publishes the staged files as commit {@code sha} and points {@code refNames} at it. */
  LocalHub commit(String sha, String... refNames) {
    commits.put(sha, Map.copyOf(staged));
    staged.values().forEach(b -> byHash.put(b.sha256(), b));
    if (cdn != null) {
      cdn.byHash.putAll(byHash);
    }
    for (String ref : refNames) {
      refs.put(ref, sha);
    }
    return this;
  }

  /**
   * Redirects LFS downloads to another server's {@code /cdn/} (another origin, as the real hub's
   * CDN is); call before {@link #commit}.
   */
  LocalHub cdnAt(LocalHub other) {
    this.cdn = other;
    return this;
  }

  LocalHub requireToken(String bearer) {
    this.token = bearer;
    return this;
  }

  /** Serves {@code path} with its last byte flipped (its listing keeps the true sha256). */
  LocalHub corrupt(String path) {
    corrupt.add(path);
    return this;
  }

  /** Answers listings with {@code status} (e.g. 500) instead of the files. */
  LocalHub failListingsWith(int status) {
    this.listingStatus = status;
    return this;
  }

  LocalHub ignoreRanges() {
    this.ignoreRanges = true;
    return this;
  }

  /** Serves half of {@code path}, then sends nothing more until the hub is closed. */
  LocalHub stall(String path) {
    this.stallPath = path;
    return this;
  }

  List<Request> requests() {
    return List.copyOf(requests);
  }

  /** Requests that fetched file bytes (resolve and CDN URLs), as opposed to listings. */
  List<Request> downloads() {
    return requests.stream().filter(r -> !r.path().startsWith("/api/")).toList();
  }

  void clearRequests() {
    requests.clear();
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String raw = ex.getRequestURI().getRawPath();
      requests.add(
          new Request(
              raw,
              ex.getRequestHeaders().getFirst("Range"),
              ex.getRequestHeaders().getFirst("Authorization")));
      Matcher m;
      if ((m = CDN.matcher(raw)).matches()) {
        Blob blob = byHash.get(m.group(1));
        if (blob == null) {
          send(ex, 404, "no such blob");
        } else {
          serve(ex, blob, null);
        }
        return;
      }
      if (token != null
          && !("Bearer " + token).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        ex.getResponseHeaders()
            .add("X-Error-Message", "Access to model " + org + "/" + repo + " is restricted.");
        send(ex, 401, "unauthorized");
        return;
      }
      if ((m = API.matcher(raw)).matches()) {
        if (listingStatus != 0) {
          send(ex, listingStatus, "the hub is having a bad day");
          return;
        }
        Map<String, Blob> files = lookup(m.group(1), m.group(2), decode(m.group(3)));
        if (files == null) {
          send(ex, 404, "Repository not found");
          return;
        }
        String sha = commitOf(decode(m.group(3)));
        ObjectNode root = JSON.createObjectNode().put("id", org + "/" + repo).put("sha", sha);
        ArrayNode siblings = root.putArray("siblings");
        files.forEach(
            (path, blob) -> {
              ObjectNode s =
                  siblings.addObject().put("rfilename", path).put("size", blob.bytes().length);
              if (blob.lfs()) {
                s.putObject("lfs")
                    .put("sha256", blob.sha256())
                    .put("size", blob.bytes().length)
                    .put("pointerSize", 134);
              }
            });
        ex.getResponseHeaders().add("Content-Type", "application/json");
        send(ex, 200, JSON.writeValueAsString(root));
        return;
      }
      if ((m = RESOLVE.matcher(raw)).matches()) {
        String revision = decode(m.group(3));
        String path = decode(m.group(4));
        Map<String, Blob> files = lookup(m.group(1), m.group(2), revision);
        Blob blob = files == null ? null : files.get(path);
        if (blob == null) {
          ex.getResponseHeaders().add("X-Error-Code", "EntryNotFound");
          send(ex, 404, "Entry not found");
          return;
        }
        ex.getResponseHeaders().add("X-Repo-Commit", commitOf(revision));
        if (blob.lfs()) {
          ex.getResponseHeaders().add("X-Linked-Etag", "\"" + blob.sha256() + "\"");
          ex.getResponseHeaders().add("X-Linked-Size", Long.toString(blob.bytes().length));
          if (!corrupt.contains(path) && !path.equals(stallPath)) {
            String origin = cdn == null ? "" : cdn.endpoint().toString();
            ex.getResponseHeaders().add("Location", origin + "/cdn/" + blob.sha256());
            send(ex, 302, "");
            return;
          }
        }
        serve(ex, blob, path);
        return;
      }
      send(ex, 404, "no route for " + raw);
    }
  }

  private Map<String, Blob> lookup(String o, String r, String revision) {
    if (!o.equals(org) || !r.equals(repo)) {
      return null;
    }
    String sha = commitOf(revision);
    return sha == null ? null : commits.get(sha);
  }

  private String commitOf(String revision) {
    return commits.containsKey(revision) ? revision : refs.get(revision);
  }

  private void serve(HttpExchange ex, Blob blob, String path) throws IOException {
    byte[] bytes = blob.bytes();
    if (path != null && corrupt.contains(path)) {
      bytes = bytes.clone();
      bytes[bytes.length - 1] ^= 0x5a;
    }
    String range = ex.getRequestHeaders().getFirst("Range");
    int from = 0;
    if (range != null && !ignoreRanges) {
      Matcher m = Pattern.compile("bytes=(\\d+)-").matcher(range);
      if (!m.matches()) {
        send(ex, 400, "bad range " + range);
        return;
      }
      from = Integer.parseInt(m.group(1));
      if (from >= bytes.length) {
        ex.getResponseHeaders().add("Content-Range", "bytes */" + bytes.length);
        send(ex, 416, "");
        return;
      }
      ex.getResponseHeaders()
          .add("Content-Range", "bytes " + from + "-" + (bytes.length - 1) + "/" + bytes.length);
    }
    int status = from > 0 || range != null && !ignoreRanges ? 206 : 200;
    ex.sendResponseHeaders(status, bytes.length - from);
    OutputStream out = ex.getResponseBody();
    if (path != null && path.equals(stallPath)) {
      out.write(bytes, from, (bytes.length - from) / 2);
      out.flush();
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return;
    }
    out.write(bytes, from, bytes.length - from);
  }

  private static void send(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      ex.getResponseBody().write(bytes);
    }
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
