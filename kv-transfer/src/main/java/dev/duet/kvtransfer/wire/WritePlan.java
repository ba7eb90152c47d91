package dev.duet.kvtransfer.wire;

import dev.duet.kvtransfer.KvRegion;
import dev.duet.kvtransfer.KvTransferException;
import dev.duet.kvtransfer.KvTransferException.Reason;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A scatter/gather write turned into the fewest contiguous runs: slices that follow each other in
 * local memory (same arena) and at the target are coalesced into one run. No I/O; immutable.
 *
 * @param runs the runs in issue order
 * @param bytes the total payload in bytes
 */
public record WritePlan(List<Run> runs, long bytes) {

  /** One contiguous run: {@code local} goes to {@code remoteOffset} of the target region. */
  public record Run(MemorySegment local, long remoteOffset) {
    public long length() {
      return local.byteSize();
    }
  }

  public WritePlan {
    runs = List.copyOf(runs);
  }

  /** Number of frames the plan takes when runs are cut into {@code chunkBytes} pieces. */
  public int chunks(int chunkBytes) {
    long n = 0;
    for (Run r : runs) {
      n += (r.length() + chunkBytes - 1) / chunkBytes;
    }
    return Math.toIntExact(n);
  }

  /**
   * Checks every slice against the region's length and coalesces.
   *
   * @throws KvTransferException {@link Reason#OUT_OF_BOUNDS} naming the slice if one does not fit
   * @throws IllegalArgumentException if the lists differ in length
   */
  public static WritePlan of(List<MemorySegment> local, KvRegion remote, long[] remoteOffsets) {
    if (local.size() != remoteOffsets.length) {
      throw new IllegalArgumentException(
          "write has "
              + local.size()
              + " local slices but "
              + remoteOffsets.length
              + " remote offsets");
    }
    List<Run> runs = new ArrayList<>();
    long bytes = 0;
    Run last = null;
    for (int i = 0; i < local.size(); i++) {
      MemorySegment s = local.get(i);
      long off = remoteOffsets[i];
      long len = s.byteSize();
      if (off < 0 || off > remote.length() - len) {
        throw new KvTransferException(
            Reason.OUT_OF_BOUNDS,
            "slice "
                + i
                + " ("
                + len
                + " bytes at offset "
                + off
                + ") does not fit region "
                + remote.id()
                + " of "
                + remote.length()
                + " bytes");
      }
      if (len == 0) {
        continue;
      }
      bytes += len;
      if (last != null && adjacent(last, s, off)) {
        last = new Run(last.local().reinterpret(last.length() + len), last.remoteOffset());
        runs.set(runs.size() - 1, last);
      } else {
        last = new Run(s, off);
        runs.add(last);
      }
    }
    return new WritePlan(runs, bytes);
  }

  private static boolean adjacent(Run prev, MemorySegment next, long nextOffset) {
    MemorySegment p = prev.local();
    return p.isNative()
        && next.isNative()
        && p.scope().equals(next.scope())
        && p.isReadOnly() == next.isReadOnly()
        && p.address() + p.byteSize() == next.address()
        && prev.remoteOffset() + p.byteSize() == nextOffset;
  }
}
