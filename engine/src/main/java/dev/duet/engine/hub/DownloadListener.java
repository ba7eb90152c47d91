package dev.duet.engine.hub;

/**
 * Hears what {@link HfHub} is doing: downloads as they progress, and notices such as "offline:
 * using cached ...". The engine prints nothing itself; the CLI passes a {@link ConsoleProgress}.
 *
 * <p>Called on the thread that runs {@link HfHub#resolve}, one file at a time.
 */
public interface DownloadListener {

  /** Hears nothing. */
  DownloadListener NOOP = new DownloadListener() {};

  /**
   * A download begins.
   *
   * @param file the file's path in its repository, e.g. {@code ORG/REPO/model.safetensors}
   * @param totalBytes the file's size, or -1 when unknown
   * @param resumedFrom bytes already on disk from an earlier, interrupted download
   */
  default void started(String file, long totalBytes, long resumedFrom) {}

  /** Bytes arrived; {@code doneBytes} counts the resumed part too. Called often: throttle. */
  default void progressed(String file, long doneBytes, long totalBytes) {}

  /** The file is complete and verified; {@code elapsedNanos} is this run's download time. */
  default void finished(String file, long totalBytes, long downloadedBytes, long elapsedNanos) {}

  /** Something the user should know, e.g. that the hub is unreachable and the cache is used. */
  default void notice(String message) {}
}
