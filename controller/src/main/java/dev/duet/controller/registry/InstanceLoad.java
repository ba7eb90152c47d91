package dev.duet.controller.registry;

/**
 * A worker's load, as its last heartbeat reported it. Immutable.
 *
 * @param queued requests waiting for admission
 * @param queuedPromptTokens prompt tokens of the queued and still-prefilling requests
 * @param running requests admitted (prefilling or decoding)
 * @param freeKvBlocks KV blocks not reserved by any request
 * @param prefillTokensPerS measured prefill throughput (0 until measured)
 * @param decodeTokensPerS measured decode throughput (0 until measured)
 * @param decodeStep its measured decode pass time ({@link StepTime#UNKNOWN} until measured)
 * @param reserved requests whose KV blocks it reserved and whose prefilled KV has not arrived yet
 *     (a decode instance's streams to come)
 */
public record InstanceLoad(
    int queued,
    long queuedPromptTokens,
    int running,
    int freeKvBlocks,
    double prefillTokensPerS,
    double decodeTokensPerS,
    StepTime decodeStep,
    int reserved) {

  /** A load whose decode pass time is not known, with no reservation outstanding. */
  public InstanceLoad(
      int queued,
      long queuedPromptTokens,
      int running,
      int freeKvBlocks,
      double prefillTokensPerS,
      double decodeTokensPerS) {
    this(
        queued,
        queuedPromptTokens,
        running,
        freeKvBlocks,
        prefillTokensPerS,
        decodeTokensPerS,
        StepTime.UNKNOWN,
        0);
  }

  /** This load with {@code free} KV blocks free. */
  public InstanceLoad withFreeKvBlocks(int free) {
    return new InstanceLoad(
        queued,
        queuedPromptTokens,
        running,
        free,
        prefillTokensPerS,
        decodeTokensPerS,
        decodeStep,
        reserved);
  }

  /**
   * The streams it will decode: running, reserved (their KV on its way), and queued (on a decode
   * instance, the requests routed to it since its last report: {@link
   * InstanceRegistry#noteRouted}).
   */
  public int streams() {
    return queued + running + reserved;
  }

  public InstanceLoad {
    java.util.Objects.requireNonNull(decodeStep, "decodeStep");
    if (queued < 0 || queuedPromptTokens < 0 || running < 0 || freeKvBlocks < 0 || reserved < 0) {
      throw new IllegalArgumentException(
          "load counts must be >= 0: queued "
              + queued
              + ", queuedPromptTokens "
              + queuedPromptTokens
              + ", running "
              + running
              + ", freeKvBlocks "
              + freeKvBlocks
              + ", reserved "
              + reserved);
    }
    if (!(prefillTokensPerS >= 0) || !(decodeTokensPerS >= 0)) {
      throw new IllegalArgumentException("throughputs must be >= 0");
    }
  }

  /** The load of an instance that has just started. */
  public static InstanceLoad idle(int kvBlocks) {
    return new InstanceLoad(0, 0, 0, kvBlocks, 0, 0);
  }
}
