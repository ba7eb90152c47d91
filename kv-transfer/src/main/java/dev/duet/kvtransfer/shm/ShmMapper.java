package dev.duet.kvtransfer.shm;

import dev.duet.kvtransfer.KvRegion;
import dev.duet.kvtransfer.wire.RegionMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * The writer's mappings of a peer's shm regions, one per region, made on first use after the peer
 * has checked the access key (MAP request) and pre-faulted so the first transfer does not pay for
 * page faults. All mappings live in one arena that {@link #close()} frees.
 *
 * <p>Threading: confined to the channel's sender thread (the arena is shared only so that the
 * channel can close it from the thread that ends last).
 */
final class ShmMapper implements RegionMapper {
  private static final long PAGE = 4096;

  private final Arena arena = Arena.ofShared();
  private final Map<Long, MemorySegment> mapped = new HashMap<>();

  @Override
  public MemorySegment map(KvRegion region, Locator locator) throws IOException {
    if (mapped.containsKey(region.id())) {
      return mapped.get(region.id());
    }
    Location where = locator.locate(region);
    MemorySegment m = where.path().isEmpty() ? null : mapFile(where);
    mapped.put(region.id(), m);
    return m;
  }

  private MemorySegment mapFile(Location where) throws IOException {
    Path file = Path.of(where.path());
    try (FileChannel fc =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      if (Files.size(file) < where.fileOffset() + where.length()) {
        throw new IOException(
            "shm file " + file + " is shorter than the region the peer announced");
      }
      MemorySegment m =
          fc.map(FileChannel.MapMode.READ_WRITE, where.fileOffset(), where.length(), arena);
      long sum = 0;
      for (long p = 0; p < m.byteSize(); p += PAGE) {
        sum += m.get(ValueLayout.JAVA_BYTE, p);
      }
      if (sum == Long.MIN_VALUE) {
        throw new AssertionError(); // keeps the pre-fault loop from being optimized away
      }
      return m;
    } catch (NoSuchFileException e) {
      return null; // another host or container: fall back to the socket
    }
  }

  @Override
  public void close() {
    mapped.clear();
    arena.close();
  }
}
