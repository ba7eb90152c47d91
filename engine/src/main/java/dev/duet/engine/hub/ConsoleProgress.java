package dev.duet.engine.hub;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * A download progress bar for a terminal: one line per file, redrawn in place at most ten times a
 * second, with bytes, percent and speed; when the output is not a terminal (a log file, CI), a
 * plain line when a file starts, at most one every {@value #PLAIN_INTERVAL_S} s while it runs, and
 * one when it is done. Notices are printed as {@code duet: MESSAGE} lines.
 *
 * <p>Confined to the thread that runs the downloads.
 */
public final class ConsoleProgress implements DownloadListener {
  static final long REDRAW_NANOS = 100_000_000L;
  static final int PLAIN_INTERVAL_S = 5;
  private static final int BAR_WIDTH = 24;

  private final PrintStream out;
  private final boolean terminal;
  private final LongSupplier nanoClock;
  private long startNanos;
  private long lastDrawNanos;
  private long resumedFrom;
  private int lastWidth;

  /**
   * @param out where to draw (standard error in the CLI)
   * @param terminal whether {@code out} is a terminal ({@code System.console() != null})
   * @param nanoClock monotonic nanoseconds ({@code System::nanoTime}; tests pass a fake)
   */
  public ConsoleProgress(PrintStream out, boolean terminal, LongSupplier nanoClock) {
    this.out = Objects.requireNonNull(out, "out");
    this.terminal = terminal;
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
  }

  /** Standard error, drawn in place when the process runs in a terminal. */
  public static ConsoleProgress stderr() {
    java.io.Console console = System.console();
    boolean terminal = console != null && console.isTerminal();
    return new ConsoleProgress(System.err, terminal, System::nanoTime);
  }

  @Override
  public void started(String file, long totalBytes, long resumedFrom) {
    this.startNanos = nanoClock.getAsLong();
    this.lastDrawNanos = startNanos;
    this.resumedFrom = resumedFrom;
    this.lastWidth = 0;
    String size = totalBytes >= 0 ? " (" + bytes(totalBytes) + ")" : "";
    String resume = resumedFrom > 0 ? ", resuming at " + bytes(resumedFrom) : "";
    out.println("duet: downloading " + file + size + resume);
    out.flush();
  }

  @Override
  public void progressed(String file, long doneBytes, long totalBytes) {
    long now = nanoClock.getAsLong();
    long interval = terminal ? REDRAW_NANOS : PLAIN_INTERVAL_S * 1_000_000_000L;
    if (now - lastDrawNanos < interval) {
      return;
    }
    lastDrawNanos = now;
    String line = line(file, doneBytes, totalBytes, now);
    if (terminal) {
      String padded = line + " ".repeat(Math.max(0, lastWidth - line.length()));
      lastWidth = line.length();
      out.print("\r" + padded);
    } else {
      out.println(line);
    }
    out.flush();
  }

  @Override
  public void finished(String file, long totalBytes, long downloadedBytes, long elapsedNanos) {
    if (terminal && lastWidth > 0) {
      out.print("\r" + " ".repeat(lastWidth) + "\r");
    }
    double seconds = elapsedNanos / 1e9;
    out.printf(
        Locale.ROOT,
        "duet: downloaded %s, %s in %.1f s (%s)%n",
        file,
        bytes(downloadedBytes),
        seconds,
        rate(downloadedBytes, elapsedNanos));
    out.flush();
  }

  @Override
  public void notice(String message) {
    out.println("duet: " + message);
    out.flush();
  }

  private String line(String file, long done, long total, long now) {
    String rate = rate(done - resumedFrom, now - startNanos);
    if (total <= 0) {
      return String.format(Locale.ROOT, "  %s  %s  %s", file, bytes(done), rate);
    }
    double fraction = Math.min(1.0, (double) done / total);
    int filled = (int) Math.round(fraction * BAR_WIDTH);
    return String.format(
        Locale.ROOT,
        "  %s [%s%s] %s / %s %3.0f%%  %s",
        file,
        "#".repeat(filled),
        ".".repeat(BAR_WIDTH - filled),
        bytes(done),
        bytes(total),
        fraction * 100,
        rate);
  }

  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    if (n < 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
    }
    if (n < 1024L * 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f MiB", n / (1024.0 * 1024));
    }
    return String.format(Locale.ROOT, "%.2f GiB", n / (1024.0 * 1024 * 1024));
  }

  private static String rate(long bytes, long nanos) {
    if (nanos <= 0) {
      return "-- MB/s";
    }
    return String.format(Locale.ROOT, "%.1f MB/s", bytes / 1e6 / (nanos / 1e9));
  }
}
