package dev.duet.engine.sampling;

import java.util.List;

/**
 * Finds a request's stop strings in its generated text as it streams out, chunk by chunk.
 *
 * <p>Each {@link #offer(String)} returns the text that is safe to send to the client now. Text that
 * could still be the start of a stop string is held back until the next chunk settles it. When a
 * stop string completes, only the text before it is emitted and the result reports {@code stopped};
 * the stop string itself is never emitted (as in the OpenAI API). If generation ends for another
 * reason, {@link #flush()} returns what was held back. Stop strings may span any number of chunks;
 * with several stop strings the earliest occurrence in the text wins.
 *
 * <p>The held-back text ({@link #pending()}) is the whole state besides the stop strings, so a
 * matcher can be rebuilt elsewhere with {@link #StopStringMatcher(List, String)}.
 *
 * <p>Not thread-safe: one matcher per request.
 */
public final class StopStringMatcher {

  /** What {@link #offer(String)} decided: text to emit now, and whether a stop string was hit. */
  public record Result(String emit, boolean stopped) {
    public Result {
      if (emit == null) {
        throw new IllegalArgumentException("emit must not be null, got null");
      }
    }
  }

  private static final Result STOPPED_NOTHING = new Result("", true);

  private final List<String> stops;
  private String pending;
  private boolean stopped;

  /** A matcher for {@code stops} (non-empty strings; the list may be empty). */
  public StopStringMatcher(List<String> stops) {
    this(stops, "");
  }

  /**
   * A matcher resuming with {@code pending} held back, as returned by {@link #pending()} of the
   * matcher it replaces.
   */
  public StopStringMatcher(List<String> stops, String pending) {
    if (stops == null) {
      throw new IllegalArgumentException("stops must not be null, got null");
    }
    for (int i = 0; i < stops.size(); i++) {
      String s = stops.get(i);
      if (s == null || s.isEmpty()) {
        throw new IllegalArgumentException(
            "stops[" + i + "] must be a non-empty string, got " + (s == null ? "null" : "\"\""));
      }
    }
    if (pending == null) {
      throw new IllegalArgumentException("pending must not be null, got null");
    }
    this.stops = List.copyOf(stops);
    if (!pending.isEmpty() && heldSuffixLength(pending) != pending.length()) {
      throw new IllegalArgumentException(
          "pending must be a proper prefix of a stop string, got \"" + pending + "\"");
    }
    this.pending = pending;
  }

  /**
   * Takes the next chunk of generated text. Once a stop string has been hit, further chunks are
   * ignored and {@code ("", true)} is returned.
   */
  public Result offer(String chunk) {
    if (chunk == null) {
      throw new IllegalArgumentException("chunk must not be null, got null");
    }
    if (stopped) {
      return STOPPED_NOTHING;
    }
    if (stops.isEmpty()) {
      return new Result(chunk, false);
    }
    String text = pending.concat(chunk);
    int stopAt = earliestStop(text);
    if (stopAt >= 0) {
      stopped = true;
      pending = "";
      return new Result(text.substring(0, stopAt), true);
    }
    int hold = heldSuffixLength(text);
    pending = text.substring(text.length() - hold);
    return new Result(text.substring(0, text.length() - hold), false);
  }

  /** Returns and clears the held-back text; call when generation ends without a stop string. */
  public String flush() {
    String out = pending;
    pending = "";
    return out;
  }

  /** The text currently held back (a proper prefix of some stop string, possibly empty). */
  public String pending() {
    return pending;
  }

  /** Whether a stop string has been hit. */
  public boolean stopped() {
    return stopped;
  }

  /** The start of the earliest stop string occurrence in {@code text}, or -1. */
  private int earliestStop(String text) {
    int best = -1;
    for (String stop : stops) {
      int at = text.indexOf(stop);
      if (at >= 0 && (best < 0 || at < best)) {
        best = at;
      }
    }
    return best;
  }

  /** The length of the longest suffix of {@code text} that is a proper prefix of a stop string. */
  private int heldSuffixLength(String text) {
    int longest = 0;
    for (String stop : stops) {
      int max = Math.min(stop.length() - 1, text.length());
      for (int len = max; len > longest; len--) {
        if (text.regionMatches(text.length() - len, stop, 0, len)) {
          longest = len;
          break;
        }
      }
    }
    return longest;
  }
}
