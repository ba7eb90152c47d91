package dev.duet.controller.gateway;

/**
 * Hears the life of each client request the gateway serves, for whoever measures load (the tidal
 * planner's {@code LoadTracker}). Every call for one request comes in order: {@link #arrived}, any
 * number of {@link #waitedForRoom} (one per wait: a request a decode instance refused after it was
 * routed waits again), at most one {@link #firstToken}, at most one {@link #finished}, and always
 * one {@link #ended} (also after a failure or a client that went away).
 *
 * <p>Threading: called on the controller's event loop; implementations must be quick and must not
 * block.
 */
public interface RequestListener {

  /** Hears nothing. */
  RequestListener NOOP = new RequestListener() {};

  /**
   * A valid request was tokenized and is about to be routed.
   *
   * @param id its response id ({@code cmpl-…}, {@code chatcmpl-…})
   * @param group the scenario group the gateway put it in (and routes it to)
   * @param promptTokens its prompt length in tokens
   * @param maxTokens the most tokens it may generate (its {@code max_tokens}, or what the context
   *     leaves)
   */
  default void arrived(String id, String group, int promptTokens, int maxTokens) {}

  /**
   * It waited {@code waitNanos} for an instance with KV room (every decode instance of its group
   * was full, or the one it was routed to refused the reservation) before it was sent on again.
   */
  default void waitedForRoom(String id, long waitNanos) {}

  /** Its first token reached the client {@code ttftNanos} after it arrived. */
  default void firstToken(String id, long ttftNanos) {}

  /**
   * Its last token reached the client.
   *
   * @param ttftNanos arrival to first token
   * @param totalNanos arrival to last token
   * @param outputTokens tokens generated
   */
  default void finished(String id, long ttftNanos, long totalNanos, int outputTokens) {}

  /** Its response ended (finished, failed or abandoned): nothing more will come for it. */
  default void ended(String id) {}
}
