package dev.duet.controller.policy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads a policy file into a {@link PolicyStore} when its content changes, by polling (a
 * ConfigMap mounted in a pod changes through a symlink swap, which {@code WatchService} misses;
 * polling a small file once a second costs nothing). An invalid file is logged with every error and
 * the current policy stays. {@link #checkNow()} does one poll on the caller's thread.
 *
 * <p>Threading: {@link #start} runs polls on one daemon thread of its own; {@link #checkNow()} is
 * synchronized with it. {@link #close()} stops the thread.
 */
public final class PolicyFileWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PolicyFileWatcher.class);

  /** What one poll found. */
  public enum Result {
    UNCHANGED,
    RELOADED,
    REJECTED,
    UNREADABLE
  }

  private final Path file;
  private final PolicyStore store;
  private String lastText;
  private ScheduledExecutorService poller;

  /** A watcher of {@code file}; the first {@link #checkNow()} loads it. */
  public PolicyFileWatcher(Path file, PolicyStore store) {
    this.file = Objects.requireNonNull(file, "file");
    this.store = Objects.requireNonNull(store, "store");
  }

  /** Loads the file now, then polls it every {@code period}. */
  public synchronized PolicyFileWatcher start(Duration period) {
    if (poller != null) {
      throw new IllegalStateException("already started: " + file);
    }
    checkNow();
    poller =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("policy-watch").unstarted(r));
    long ms = Math.max(1, period.toMillis());
    poller.scheduleWithFixedDelay(this::checkNow, ms, ms, TimeUnit.MILLISECONDS);
    return this;
  }

  /** Reads the file and, if its text changed since the last poll, offers it to the store. */
  public synchronized Result checkNow() {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      log.warn("policy file {} does not exist; keeping policy version {}", file, version());
      return Result.UNREADABLE;
    } catch (IOException | RuntimeException e) {
      log.warn("cannot read policy file {}; keeping policy version {}: {}", file, version(), e);
      return Result.UNREADABLE;
    }
    if (text.equals(lastText) || text.equals(store.current().source())) {
      lastText = text; // e.g. the file the controller loaded itself at startup
      return Result.UNCHANGED;
    }
    lastText = text;
    return switch (store.replace(text, "file:" + file)) {
      case PolicyStore.Outcome.Accepted a -> {
        log.info("policy file {} loaded as version {}", file, a.version().version());
        yield Result.RELOADED;
      }
      case PolicyStore.Outcome.Rejected r -> {
        log.warn(
            "policy file {} is invalid; keeping version {}:\n  {}",
            file,
            version(),
            String.join("\n  ", r.errors().stream().map(PolicyError::toString).toList()));
        yield Result.REJECTED;
      }
    };
  }

  private long version() {
    return store.current().version();
  }

  @Override
  public synchronized void close() {
    if (poller != null) {
      poller.shutdownNow();
      poller = null;
    }
  }
}
