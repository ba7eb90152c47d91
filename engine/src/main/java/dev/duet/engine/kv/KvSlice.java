package dev.duet.engine.kv;

import java.util.ArrayList;
import java.util.List;

/**
 * A byte range of a {@link KvCachePool#segment()}: what the transport copies in one transfer.
 *
 * @param offset first byte, from the start of the pool's segment
 * @param length bytes, &gt; 0
 */
public record KvSlice(long offset, long length) {
  public KvSlice {
    if (offset < 0) {
      throw new IllegalArgumentException("offset must be >= 0, got " + offset);
    }
    if (length <= 0) {
      throw new IllegalArgumentException("length must be > 0, got " + length);
    }
  }

  /** One past the last byte. */
  public long end() {
    return offset + length;
  }

  /**
   * Merges each slice into its predecessor in the list when it starts where the predecessor ends.
   * Order is kept (nothing is sorted), so the bytes of the result, read in list order, are the same
   * stream as those of the input: a sender and a receiver whose block ids differ can still pair
   * their streams.
   */
  public static List<KvSlice> coalesce(List<KvSlice> slices) {
    List<KvSlice> out = new ArrayList<>(slices.size());
    long start = -1;
    long end = -1;
    for (KvSlice s : slices) {
      if (start >= 0 && s.offset() == end) {
        end = s.end();
        continue;
      }
      if (start >= 0) {
        out.add(new KvSlice(start, end - start));
      }
      start = s.offset();
      end = s.end();
    }
    if (start >= 0) {
      out.add(new KvSlice(start, end - start));
    }
    return out;
  }
}
