package dev.duet.engine.hub;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Downloads one repository file into the cache: into {@code FILE.incomplete} first, resumed with
 * {@code Range: bytes=N-} when an earlier attempt left one, then checked against the expected size
 * and (for LFS files) sha256 and moved into place atomically. A sha256 mismatch deletes the partial
 * file; an early end keeps it for the next attempt. A body that stalls for longer than the read
 * timeout is abandoned (the partial file stays).
 *
 * <p>One download runs on the calling thread; a lock on the partial file keeps two processes from
 * writing the same file at once.
 */
final class FileDownloader {
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-\\d+/(\\d+|\\*)");
  private static final int BUFFER_BYTES = 1 << 20;

  private final HubApi api;
  private final Duration readTimeout;
  private final DownloadListener listener;

  FileDownloader(HubApi api, Duration readTimeout, DownloadListener listener) {
    this.api = api;
    this.readTimeout = readTimeout;
    this.listener = listener;
  }

  /** Fetches {@code file} of {@code spec}'s repository at {@code commit} into {@code target}. */
  void fetch(HfSpec spec, String commit, RepoFile file, Path target) throws IOException {
    Files.createDirectories(target.getParent());
    Path partial = HubCache.incomplete(target);
    try {
      fetchPartial(spec, commit, file, partial);
    } catch (Rejected e) {
      Files.deleteIfExists(partial); // an interrupted download, by contrast, stays for a resume
      throw e;
    }
    try {
      Files.move(
          partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private void fetchPartial(HfSpec spec, String commit, RepoFile file, Path partial)
      throws IOException {
    String name = spec.repoId() + "/" + file.path();
    try (FileChannel channel =
        FileChannel.open(
            partial,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.READ)) {
      FileLock lock = tryLock(channel, partial);
      try {
        Expected expected = transfer(spec, commit, file, name, channel);
        verify(name, partial, channel, expected);
      } finally {
        if (lock.isValid()) { // an interrupted write closes the channel, and with it the lock
          lock.release();
        }
      }
    }
  }

  /** The downloaded bytes are wrong (size or sha256): the partial file is deleted. */
  private static final class Rejected extends HubException {
    Rejected(String message) {
      super(message);
    }
  }

  /** What the finished file must be: size -1 and no sha256 when nobody said. */
  private record Expected(long size, Optional<String> sha256) {}

  private Expected transfer(
      HfSpec spec, String commit, RepoFile file, String name, FileChannel channel)
      throws IOException {
    long offset = channel.size();
    if (file.size() >= 0 && offset > file.size()) {
      channel.truncate(0);
      offset = 0;
    }
    if (offset > 0 && offset == file.size()) {
      return new Expected(file.size(), file.sha256()); // a previous run got every byte
    }
    HttpResponse<InputStream> response = api.open(spec, commit, file.path(), offset);
    if (response.statusCode() == 416) {
      // The server says the partial file is already as long as the file, or longer: start over.
      HubApi.close(response);
      channel.truncate(0);
      offset = 0;
      response = api.open(spec, commit, file.path(), 0);
    }
    try (InputStream body = response.body()) {
      if (response.statusCode() == 206) {
        long start = rangeStart(response, name);
        if (start != offset) {
          throw new HubException(
              "the hub answered a resume of "
                  + name
                  + " from byte "
                  + offset
                  + " with bytes "
                  + start
                  + "- ("
                  + response.uri()
                  + ")");
        }
      } else {
        channel.truncate(0); // 200: the whole file, whatever we asked for
        offset = 0;
      }
      Expected expected = expected(file, response, offset);
      channel.position(offset);
      copy(name, body, channel, offset, expected.size(), response);
      return expected;
    }
  }

  private void copy(
      String name,
      InputStream body,
      FileChannel channel,
      long offset,
      long total,
      HttpResponse<?> response)
      throws IOException {
    listener.started(name, total, offset);
    long begin = System.nanoTime();
    long done = offset;
    byte[] buffer = new byte[BUFFER_BYTES];
    StallWatchdog watchdog = new StallWatchdog(Thread.currentThread(), readTimeout);
    try {
      int n;
      while ((n = body.read(buffer)) >= 0) {
        watchdog.progressed();
        ByteBuffer bytes = ByteBuffer.wrap(buffer, 0, n);
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        done += n;
        listener.progressed(name, done, total);
      }
    } catch (IOException e) {
      if (watchdog.stop()) {
        throw new HubException(
            "no data for "
                + readTimeout.toSeconds()
                + " s while downloading "
                + name
                + " from "
                + response.uri()
                + " (got "
                + done
                + " bytes); run again to resume",
            e);
      }
      throw new HubException(
          "download of "
              + name
              + " from "
              + response.uri()
              + " broke off after "
              + done
              + " bytes ("
              + HubApi.describe(e)
              + "); run again to resume",
          e);
    }
    watchdog.stop();
    listener.finished(name, done, done - offset, System.nanoTime() - begin);
  }

  private void verify(String name, Path partial, FileChannel channel, Expected expected)
      throws IOException {
    long size = channel.size();
    if (expected.size() >= 0 && size < expected.size()) {
      throw new HubException(
          "download of "
              + name
              + " ended early at "
              + size
              + " of "
              + expected.size()
              + " bytes; run again to resume");
    }
    if (expected.size() >= 0 && size > expected.size()) {
      throw new Rejected(
          "download of "
              + name
              + " is "
              + size
              + " bytes, expected "
              + expected.size()
              + "; the partial file was discarded, run again");
    }
    if (expected.sha256().isPresent()) {
      String actual = sha256(channel, size, partial);
      if (!actual.equals(expected.sha256().get())) {
        throw new Rejected(
            "sha256 mismatch for "
                + name
                + ": expected "
                + expected.sha256().get()
                + ", got "
                + actual
                + "; the download was discarded, run again");
      }
    }
  }

  private static Expected expected(RepoFile file, HttpResponse<?> response, long offset) {
    long size = file.size();
    if (size < 0) {
      size =
          response
              .headers()
              .firstValueAsLong("X-Linked-Size")
              .orElse(response.headers().firstValueAsLong("Content-Length").orElse(-1) + offset);
      if (size < offset) {
        size = -1;
      }
    }
    Optional<String> sha = file.sha256();
    if (sha.isEmpty()) {
      sha =
          response
              .headers()
              .firstValue("X-Linked-Etag")
              .or(() -> response.headers().firstValue("ETag"))
              .map(FileDownloader::unquote)
              .filter(e -> SHA256.matcher(e).matches());
    }
    return new Expected(size, sha);
  }

  private static long rangeStart(HttpResponse<?> response, String name) throws HubException {
    String range = response.headers().firstValue("Content-Range").orElse("");
    var m = CONTENT_RANGE.matcher(range);
    if (!m.matches()) {
      throw new HubException(
          "the hub answered a resume of "
              + name
              + " with HTTP 206 but Content-Range '"
              + range
              + "' ("
              + response.uri()
              + ")");
    }
    return Long.parseLong(m.group(1));
  }

  private static String unquote(String etag) {
    String e = etag.startsWith("W/") ? etag.substring(2) : etag;
    return e.replace("\"", "").toLowerCase(java.util.Locale.ROOT);
  }

  private static String sha256(FileChannel channel, long size, Path partial) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK always has SHA-256", e);
    }
    ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES);
    long position = 0;
    while (position < size) {
      buffer.clear();
      int n = channel.read(buffer, position);
      if (n < 0) {
        throw new IOException(partial + " shrank while being hashed");
      }
      buffer.flip();
      digest.update(buffer);
      position += n;
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static FileLock tryLock(FileChannel channel, Path partial) throws HubException {
    try {
      FileLock lock = channel.tryLock();
      if (lock != null) {
        return lock;
      }
    } catch (OverlappingFileLockException | IOException e) {
      // fall through: someone else holds it
    }
    throw new HubException(
        "another download is writing " + partial + "; wait for it, or delete the file if none is");
  }
}
