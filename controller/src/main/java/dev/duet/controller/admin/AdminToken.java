package dev.duet.controller.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.random.RandomGenerator;

/**
 * The bearer token the operator API accepts, and the check of an {@code Authorization} header
 * against it. The check compares SHA-256 digests with {@link MessageDigest#isEqual}, so its time
 * depends neither on where a guess first differs nor on the guess's length. {@link #toString()}
 * never shows the token.
 *
 * <p>Immutable; thread-safe.
 */
public final class AdminToken {

  /** The shortest token accepted: shorter ones are guessable. */
  public static final int MIN_LENGTH = 16;

  /** The environment variable the CLI reads the token from when no flag gives it. */
  public static final String ENV = "DUET_ADMIN_TOKEN";

  /** The outcome of checking a request's {@code Authorization} header. */
  public enum Verdict {
    /** The right token. */
    OK,
    /** No header, or not a bearer token: answer 401 with {@code WWW-Authenticate: Bearer}. */
    MISSING,
    /** A bearer token, but not this one: answer 403. */
    WRONG
  }

  private final String token;
  private final byte[] digest;

  private AdminToken(String token) {
    this.token = token;
    this.digest = sha256(token);
  }

  /**
   * A given token.
   *
   * @throws IllegalArgumentException when it is shorter than {@link #MIN_LENGTH} or holds
   *     characters other than printable ASCII without spaces (it travels in an HTTP header)
   */
  public static AdminToken of(String token) {
    if (token == null || token.length() < MIN_LENGTH) {
      throw new IllegalArgumentException(
          "the admin token must be at least "
              + MIN_LENGTH
              + " characters, got "
              + (token == null ? "none" : token.length()));
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c <= ' ' || c > '~') {
        throw new IllegalArgumentException(
            "the admin token must be printable ASCII without spaces; character "
                + i
                + " is U+"
                + String.format("%04X", (int) c));
      }
    }
    return new AdminToken(token);
  }

  /** A fresh random token: {@code duet_} and 32 random bytes in base64url (256 bits). */
  public static AdminToken generate(RandomGenerator random) {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return new AdminToken("duet_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b));
  }

  /** The token itself, to print once for the operator or hand to a child process. */
  public String reveal() {
    return token;
  }

  /** Checks an {@code Authorization} header value (null when the request had none). */
  public Verdict check(String authorization) {
    if (authorization == null) {
      return Verdict.MISSING;
    }
    String h = authorization.strip();
    int space = h.indexOf(' ');
    if (space < 0 || !h.substring(0, space).equalsIgnoreCase("Bearer")) {
      return Verdict.MISSING;
    }
    String given = h.substring(space + 1).strip();
    if (given.isEmpty()) {
      return Verdict.MISSING;
    }
    return MessageDigest.isEqual(digest, sha256(given)) ? Verdict.OK : Verdict.WRONG;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }

  @Override
  public String toString() {
    return "AdminToken[redacted]";
  }
}
