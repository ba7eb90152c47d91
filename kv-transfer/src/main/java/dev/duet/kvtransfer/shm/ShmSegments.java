package dev.duet.kvtransfer.shm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shm-backed memory a receiver allocates so that same-host writers can map it: each allocation is a
 * file {@code duet-kv-<pid>-<random>} (mode 0600, an unguessable name) in the shared-memory
 * directory, mapped into this process. The engine's KV pool can use such a segment as its memory.
 *
 * <p>Lifecycle: {@link #close()} unmaps and deletes every file (and the files are marked
 * delete-on-exit for a JVM that exits without closing); {@link #sweep(Path)} deletes files left by
 * processes that died without either, and runs when a node starts.
 *
 * <p>Threading: thread-safe.
 */
public final class ShmSegments implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ShmSegments.class);
  private static final Pattern NAME = Pattern.compile("duet-kv-(\\d+)-[0-9a-f]+");

  /** An allocation: the file and the mapping of all of it. */
  private record Backing(Path file, MemorySegment segment) {}

  private final Path dir;
  private final Arena arena = Arena.ofShared();
  private final SecureRandom random = new SecureRandom();
  private final List<Backing> backings = new CopyOnWriteArrayList<>();

  public ShmSegments(Path dir) {
    this.dir = dir;
  }

  /** Whether {@code dir} can hold shm segments (exists and is writable). */
  public static boolean usable(Path dir) {
    return Files.isDirectory(dir) && Files.isWritable(dir);
  }

  /**
   * A zeroed, 4 KiB-aligned segment of {@code bytes}, backed by a new file in the shm directory.
   */
  public MemorySegment allocate(long bytes) throws IOException {
    if (bytes <= 0) {
      throw new IllegalArgumentException("shm segment size must be positive, got " + bytes);
    }
    String name =
        "duet-kv-"
            + ProcessHandle.current().pid()
            + "-"
            + HexFormat.of().toHexDigits(random.nextLong());
    Path file = dir.resolve(name);
    Files.createFile(
        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    file.toFile().deleteOnExit();
    try (FileChannel fc =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      fc.position(bytes - 1).write(java.nio.ByteBuffer.allocate(1));
      MemorySegment m = fc.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
      backings.add(new Backing(file, m));
      return m;
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw new IOException("cannot allocate " + bytes + " bytes of shm in " + file, e);
    }
  }

  /** The file backing {@code segment} and the segment's offset in it, or null if not shm-backed. */
  public Located locate(MemorySegment segment) {
    if (!segment.isNative()) {
      return null;
    }
    for (Backing b : backings) {
      long start = b.segment().address();
      long off = segment.address() - start;
      if (off >= 0 && off + segment.byteSize() <= b.segment().byteSize()) {
        return new Located(b.file(), off);
      }
    }
    return null;
  }

  /** Where a segment lives: {@code file} at byte {@code offset}. */
  public record Located(Path file, long offset) {}

  /** The files this object owns now. */
  public List<Path> files() {
    return backings.stream().map(Backing::file).toList();
  }

  /** Deletes {@code duet-kv-*} files in {@code dir} whose owning process is gone; returns them. */
  public static List<Path> sweep(Path dir) {
    List<Path> removed = new java.util.ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return removed;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "duet-kv-*")) {
      for (Path f : files) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
          Files.deleteIfExists(f);
          removed.add(f);
        }
      }
    } catch (IOException e) {
      log.warn("cannot sweep stale kv shm files in {}: {}", dir, e.toString());
    }
    if (!removed.isEmpty()) {
      log.info("swept {} stale kv shm files from dead processes in {}", removed.size(), dir);
    }
    return removed;
  }

  @Override
  public void close() {
    arena.close();
    for (Backing b : backings) {
      try {
        Files.deleteIfExists(b.file());
      } catch (IOException e) {
        log.warn("cannot delete kv shm file {}: {}", b.file(), e.toString());
      }
    }
    backings.clear();
  }
}
