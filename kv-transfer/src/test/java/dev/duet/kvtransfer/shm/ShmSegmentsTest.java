package dev.duet.kvtransfer.shm;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shm-backed allocations: the files behind them, locating slices, cleanup and the stale sweep. */
class ShmSegmentsTest {
  @TempDir Path dir;

  @Test
  void anAllocationIsAPrivateFileWhoseBytesAreTheSegments() throws Exception {
    try (ShmSegments shm = new ShmSegments(dir)) {
      MemorySegment m = shm.allocate(10_000);
      m.set(ValueLayout.JAVA_BYTE, 9_999, (byte) 42);
      Path file = shm.files().getFirst();
      assertThat(file.getFileName().toString())
          .startsWith("duet-kv-" + ProcessHandle.current().pid() + "-");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
          .isEqualTo("rw-------");
      assertThat(Files.size(file)).isEqualTo(10_000);
      assertThat(Files.readAllBytes(file)[9_999]).isEqualTo((byte) 42);
    }
  }

  @Test
  void aSliceIsLocatedInItsFileAndForeignMemoryIsNot() throws Exception {
    try (ShmSegments shm = new ShmSegments(dir);
        Arena arena = Arena.ofConfined()) {
      shm.allocate(4096);
      MemorySegment m = shm.allocate(1 << 20);
      ShmSegments.Located at = shm.locate(m.asSlice(8192, 100));
      assertThat(at.file()).isEqualTo(shm.files().get(1));
      assertThat(at.offset()).isEqualTo(8192);
      assertThat(shm.locate(m.asSlice((1 << 20) - 10, 10)).offset()).isEqualTo((1 << 20) - 10);
      assertThat(shm.locate(arena.allocate(64))).isNull();
      assertThat(shm.locate(MemorySegment.ofArray(new byte[8]))).isNull();
    }
  }

  @Test
  void closingDeletesEveryFile() throws Exception {
    ShmSegments shm = new ShmSegments(dir);
    shm.allocate(4096);
    shm.allocate(4096);
    shm.close();
    try (var files = Files.list(dir)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void theSweepRemovesFilesOfDeadProcessesOnly() throws Exception {
    long dead = deadPid();
    Path stale = Files.createFile(dir.resolve("duet-kv-" + dead + "-00ff"));
    Path mine = Files.createFile(dir.resolve("duet-kv-" + ProcessHandle.current().pid() + "-abcd"));
    Path other = Files.createFile(dir.resolve("something-else"));
    assertThat(ShmSegments.sweep(dir)).containsExactly(stale);
    assertThat(stale).doesNotExist();
    assertThat(mine).exists();
    assertThat(other).exists();
  }

  /** A pid no process has now: past the highest one in use, well within pid_max. */
  static long deadPid() {
    long max = ProcessHandle.allProcesses().mapToLong(ProcessHandle::pid).max().orElse(1000);
    long pid = max + 1000;
    while (ProcessHandle.of(pid).isPresent()) {
      pid++;
    }
    return pid;
  }
}
