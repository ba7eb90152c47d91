package dev.duet.engine.hub;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Where and how {@link HfHub} talks to the hub, taken from the environment once so that tests can
 * pass their own.
 *
 * @param endpoint the hub's base URL, without a trailing slash ({@code HF_ENDPOINT}, default
 *     {@value #DEFAULT_ENDPOINT})
 * @param token a bearer token for gated and private repositories ({@code HF_TOKEN})
 * @param offline never touch the network, use only the cache ({@code HF_HUB_OFFLINE=1})
 * @param cacheDir the hub cache: {@code models--ORG--REPO} folders live directly under it
 * @param connectTimeout the limit on opening a connection
 * @param readTimeout the limit on waiting for response headers, and on a stall while reading a body
 */
public record HubConfig(
    URI endpoint,
    Optional<String> token,
    boolean offline,
    Path cacheDir,
    Duration connectTimeout,
    Duration readTimeout) {

  public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
  public static final String ENV_ENDPOINT = "HF_ENDPOINT";
  public static final String ENV_TOKEN = "HF_TOKEN";
  public static final String ENV_OFFLINE = "HF_HUB_OFFLINE";

  private static final Set<String> TRUE = Set.of("1", "true", "yes", "on");

  public HubConfig {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(cacheDir, "cacheDir");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(readTimeout, "readTimeout");
    String scheme = endpoint.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme) || endpoint.getHost() == null) {
      throw new IllegalArgumentException(
          "endpoint must be an http(s) URL like " + DEFAULT_ENDPOINT + ": " + endpoint);
    }
    if (endpoint.toString().endsWith("/")) {
      throw new IllegalArgumentException("endpoint must not end with '/': " + endpoint);
    }
    if (token.isPresent() && token.get().isBlank()) {
      throw new IllegalArgumentException("token must not be blank (use Optional.empty())");
    }
    if (connectTimeout.isNegative() || connectTimeout.isZero()) {
      throw new IllegalArgumentException("connectTimeout must be positive: " + connectTimeout);
    }
    if (readTimeout.isNegative() || readTimeout.isZero()) {
      throw new IllegalArgumentException("readTimeout must be positive: " + readTimeout);
    }
  }

  /**
   * Reads {@value #ENV_ENDPOINT}, {@value #ENV_TOKEN} and {@value #ENV_OFFLINE} from {@code env}
   * (pass {@code System.getenv()} in production); the hub cache is {@code duetCache/hub}. Timeouts:
   * 10 s to connect, 60 s to read.
   */
  public static HubConfig fromEnvironment(Map<String, String> env, Path duetCache) {
    String endpoint = env.getOrDefault(ENV_ENDPOINT, "").strip();
    if (endpoint.isEmpty()) {
      endpoint = DEFAULT_ENDPOINT;
    }
    while (endpoint.endsWith("/")) {
      endpoint = endpoint.substring(0, endpoint.length() - 1);
    }
    URI uri;
    try {
      uri = URI.create(endpoint);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(ENV_ENDPOINT + " is not a URL: " + endpoint, e);
    }
    String token = env.getOrDefault(ENV_TOKEN, "").strip();
    boolean offline =
        TRUE.contains(env.getOrDefault(ENV_OFFLINE, "").strip().toLowerCase(Locale.ROOT));
    return new HubConfig(
        uri,
        token.isEmpty() ? Optional.empty() : Optional.of(token),
        offline,
        duetCache.resolve("hub"),
        Duration.ofSeconds(10),
        Duration.ofSeconds(60));
  }

  /** This configuration with other timeouts (tests use short ones). */
  public HubConfig withTimeouts(Duration connect, Duration read) {
    return new HubConfig(endpoint, token, offline, cacheDir, connect, read);
  }

  @Override
  public String toString() {
    // Never print the token.
    return "HubConfig[endpoint="
        + endpoint
        + ", token="
        + (token.isPresent() ? "(set)" : "(none)")
        + ", offline="
        + offline
        + ", cacheDir="
        + cacheDir
        + "]";
  }
}
