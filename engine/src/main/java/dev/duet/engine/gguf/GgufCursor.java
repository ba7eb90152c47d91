package dev.duet.engine.gguf;

import dev.duet.engine.ModelFormatException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A bounds-checked little-endian read position over a mapped GGUF file. Every read checks the
 * remaining bytes first, so a truncated or corrupt file yields a {@link ModelFormatException}
 * naming the file, the byte offset and what was being read, never an index exception.
 *
 * <p>Not thread-safe: one cursor per parse.
 */
final class GgufCursor {
  private static final ValueLayout.OfInt INT_LE =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong LONG_LE =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort SHORT_LE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfFloat FLOAT_LE =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfDouble DOUBLE_LE =
      ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final Path path;
  private final MemorySegment data;
  private long pos;

  GgufCursor(Path path, MemorySegment data) {
    this.path = path;
    this.data = data;
  }

  /** Current byte offset from the start of the file. */
  long position() {
    return pos;
  }

  /** Bytes left after the current position. */
  long remaining() {
    return data.byteSize() - pos;
  }

  /** A format error naming the file and the current offset. */
  ModelFormatException error(String what) {
    return new ModelFormatException(path + ": " + what + " (at byte offset " + pos + ")");
  }

  private void need(long bytes, String what) {
    if (bytes < 0 || bytes > remaining()) {
      throw error(
          "truncated file: "
              + what
              + " needs "
              + bytes
              + " bytes but only "
              + remaining()
              + " remain of "
              + data.byteSize());
    }
  }

  int u8(String what) {
    need(1, what);
    return data.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
  }

  short i16(String what) {
    need(2, what);
    short v = data.get(SHORT_LE, pos);
    pos += 2;
    return v;
  }

  int i32(String what) {
    need(4, what);
    int v = data.get(INT_LE, pos);
    pos += 4;
    return v;
  }

  long i64(String what) {
    need(8, what);
    long v = data.get(LONG_LE, pos);
    pos += 8;
    return v;
  }

  float f32(String what) {
    need(4, what);
    float v = data.get(FLOAT_LE, pos);
    pos += 4;
    return v;
  }

  double f64(String what) {
    need(8, what);
    double v = data.get(DOUBLE_LE, pos);
    pos += 8;
    return v;
  }

  /**
   * Reads a u64 count and checks that {@code count * minBytesEach} bytes could still follow, so a
   * corrupt count is reported before anything is allocated for it.
   */
  long count(String what, long minBytesEach) {
    long start = pos;
    long n = i64(what + " count");
    if (n < 0 || (minBytesEach > 0 && n > remaining() / minBytesEach)) {
      pos = start;
      throw error(
          "truncated or corrupt file: absurd "
              + what
              + " count "
              + Long.toUnsignedString(n)
              + ": at least "
              + minBytesEach
              + " bytes each, but only "
              + remaining()
              + " bytes remain");
    }
    return n;
  }

  /** A GGUF string: u64 byte length, then that many UTF-8 bytes. */
  String string(String what) {
    long start = pos;
    long len = i64(what + " length");
    if (len < 0 || len > remaining()) {
      pos = start;
      throw error(
          "truncated or corrupt file: "
              + what
              + " claims "
              + Long.toUnsignedString(len)
              + " bytes but only "
              + (remaining() - 8)
              + " remain");
    }
    if (len > Integer.MAX_VALUE - 16) {
      pos = start;
      throw error(what + " of " + len + " bytes is too long");
    }
    byte[] bytes = data.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
    pos += len;
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** Moves to the next multiple of {@code alignment} (which may be the end of the file). */
  void alignTo(int alignment) {
    pos = (pos + alignment - 1) / alignment * alignment;
  }
}
