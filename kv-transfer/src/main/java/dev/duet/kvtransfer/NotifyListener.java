package dev.duet.kvtransfer;

/**
 * Receives the notifications writers send with {@link TransferChannel#notify(long)}.
 *
 * <p>Threading: called on the thread that serves the writer's channel, once per notification, in
 * the order that writer sent them; by then every write that writer issued before the notification
 * is in place. Different channels call it concurrently. Keep it short: the channel reads nothing
 * else until it returns.
 */
@FunctionalInterface
public interface NotifyListener {
  /**
   * @param writer the name the writer gave when it opened the channel
   * @param tag the writer's tag, e.g. request id and layer packed into 64 bits
   */
  void onNotify(String writer, long tag);
}
