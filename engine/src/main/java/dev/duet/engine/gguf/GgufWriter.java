package dev.duet.engine.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Builds a GGUF (v3 by default, or v2) file: metadata, then tensors whose values are produced
 * lazily, one tensor at a time, while {@link #write} streams them to disk. A model much larger than
 * the heap can therefore be written as long as its largest tensor fits.
 *
 * <p>{@link #write} writes to a temporary file in the target's directory and then moves it into
 * place (atomically where the file system allows), so readers never see a half-written file.
 *
 * <p>Not thread-safe: build and write from one thread.
 */
public final class GgufWriter {
  private record Entry(GgufValueType type, GgufValueType elementType, Object value) {}

  private record Pending(GgufTensorInfo info, Supplier<float[]> values, byte[] raw) {}

  private int version = 3;
  private int alignment = GgufFile.DEFAULT_ALIGNMENT;
  private final Map<String, Entry> entries = new LinkedHashMap<>();
  private final List<Pending> tensors = new ArrayList<>();
  private final Set<String> tensorNames = new HashSet<>();

  /** A writer for GGUF version 3 with 32-byte alignment. */
  public GgufWriter() {}

  /** Sets the format version, 2 or 3 (identical little-endian layouts). */
  public GgufWriter version(int v) {
    if (v != 2 && v != 3) {
      throw new IllegalArgumentException("GGUF version must be 2 or 3, got " + v);
    }
    this.version = v;
    return this;
  }

  /** Sets the data alignment in bytes (a power of two); written as general.alignment if not 32. */
  public GgufWriter alignment(int bytes) {
    if (bytes <= 0 || Integer.bitCount(bytes) != 1) {
      throw new IllegalArgumentException("alignment must be a power of two, got " + bytes);
    }
    this.alignment = bytes;
    return this;
  }

  public GgufWriter putString(String k, String v) {
    return put(k, GgufValueType.STRING, Objects.requireNonNull(v, "value"));
  }

  /** An unsigned 32-bit value; the int's bits are written as-is. */
  public GgufWriter putU32(String k, int v) {
    return put(k, GgufValueType.UINT32, Integer.toUnsignedLong(v));
  }

  public GgufWriter putI32(String k, int v) {
    return put(k, GgufValueType.INT32, v);
  }

  /** An unsigned 64-bit value; the long's bits are written as-is. */
  public GgufWriter putU64(String k, long v) {
    return put(k, GgufValueType.UINT64, v);
  }

  public GgufWriter putI64(String k, long v) {
    return put(k, GgufValueType.INT64, v);
  }

  /** An unsigned 8-bit value in 0..255. */
  public GgufWriter putU8(String k, int v) {
    return put(k, GgufValueType.UINT8, checkRange(k, v, 0, 255));
  }

  public GgufWriter putI8(String k, int v) {
    return put(k, GgufValueType.INT8, checkRange(k, v, Byte.MIN_VALUE, Byte.MAX_VALUE));
  }

  /** An unsigned 16-bit value in 0..65535. */
  public GgufWriter putU16(String k, int v) {
    return put(k, GgufValueType.UINT16, checkRange(k, v, 0, 65535));
  }

  public GgufWriter putI16(String k, int v) {
    return put(k, GgufValueType.INT16, checkRange(k, v, Short.MIN_VALUE, Short.MAX_VALUE));
  }

  public GgufWriter putF32(String k, float v) {
    return put(k, GgufValueType.FLOAT32, v);
  }

  public GgufWriter putF64(String k, double v) {
    return put(k, GgufValueType.FLOAT64, v);
  }

  public GgufWriter putBool(String k, boolean v) {
    return put(k, GgufValueType.BOOL, v);
  }

  public GgufWriter putStringArray(String k, String[] v) {
    return putArray(k, GgufValueType.STRING, List.of(v));
  }

  public GgufWriter putF32Array(String k, float[] v) {
    List<Object> list = new ArrayList<>(v.length);
    for (float f : v) {
      list.add(f);
    }
    return putArray(k, GgufValueType.FLOAT32, list);
  }

  public GgufWriter putI32Array(String k, int[] v) {
    return putArray(k, GgufValueType.INT32, Arrays.stream(v).boxed().map(i -> (Object) i).toList());
  }

  /**
   * An array of scalars or strings, given as the Java values {@link GgufFile} reads back (see
   * {@link GgufValueType}); nested arrays are not supported here.
   */
  public GgufWriter putArray(String k, GgufValueType elementType, List<?> values) {
    if (elementType == GgufValueType.ARRAY) {
      throw new IllegalArgumentException("nested arrays are not supported: " + k);
    }
    List<Object> copy = new ArrayList<>(values.size());
    for (Object v : values) {
      checkJavaType(k, elementType, v);
      copy.add(v);
    }
    return putEntry(k, new Entry(GgufValueType.ARRAY, elementType, List.copyOf(copy)));
  }

  /**
   * Adds a tensor whose values are produced at write time by {@code values} (called once, when this
   * tensor's turn comes) and encoded as {@code type}.
   *
   * @param shape GGUF order: {@code shape[0]} is the row length
   */
  public GgufWriter addTensor(String name, GgmlType type, long[] shape, Supplier<float[]> values) {
    Objects.requireNonNull(values, "values");
    return addPending(new Pending(GgufTensorInfo.of(name, shape, type, 0), values, null));
  }

  /** Adds a tensor from already-encoded bytes; their length must match the shape and type. */
  public GgufWriter addRawTensor(String name, GgmlType type, long[] shape, byte[] bytes) {
    GgufTensorInfo info = GgufTensorInfo.of(name, shape, type, 0);
    if (bytes.length != info.byteSize()) {
      throw new IllegalArgumentException(
          "tensor " + name + " needs " + info.byteSize() + " bytes, got " + bytes.length);
    }
    return addPending(new Pending(info, null, bytes.clone()));
  }

  /** Writes the file: header, metadata, tensor table, padding, then each tensor's data aligned. */
  public void write(Path out) throws IOException {
    Path target = out.toAbsolutePath();
    Path dir = target.getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".partial");
    try {
      try (FileChannel ch =
          FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        writeTo(new GgufSink(ch));
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private void writeTo(GgufSink sink) throws IOException {
    Map<String, Entry> kvs = new LinkedHashMap<>();
    if (alignment != GgufFile.DEFAULT_ALIGNMENT) {
      kvs.put(GgufFile.ALIGNMENT_KEY, new Entry(GgufValueType.UINT32, null, (long) alignment));
    }
    kvs.putAll(entries);

    sink.u32(GgufFile.MAGIC);
    sink.u32(version);
    sink.u64(tensors.size());
    sink.u64(kvs.size());
    for (Map.Entry<String, Entry> kv : kvs.entrySet()) {
      sink.string(kv.getKey());
      Entry e = kv.getValue();
      sink.u32(e.type().id());
      if (e.type() == GgufValueType.ARRAY) {
        List<?> list = (List<?>) e.value();
        sink.u32(e.elementType().id());
        sink.u64(list.size());
        for (Object v : list) {
          scalar(sink, e.elementType(), v);
        }
      } else {
        scalar(sink, e.type(), e.value());
      }
    }
    long offset = 0; // bytes from the start of the data section
    for (Pending p : tensors) {
      GgufTensorInfo t = p.info();
      sink.string(t.name());
      sink.u32(t.dims());
      for (int d = 0; d < t.dims(); d++) {
        sink.u64(t.dim(d));
      }
      sink.u32(t.type().id());
      sink.u64(offset);
      offset = alignUp(offset + t.byteSize());
    }
    sink.padTo(alignment);
    long dataStart = sink.position();
    for (Pending p : tensors) {
      byte[] bytes = p.raw() != null ? p.raw() : encode(p);
      sink.bytes(bytes);
      sink.padTo(alignment, dataStart);
    }
    sink.flush();
  }

  private static byte[] encode(Pending p) {
    GgufTensorInfo t = p.info();
    float[] values = p.values().get();
    if (values == null || values.length != t.elementCount()) {
      throw new IllegalStateException(
          "tensor "
              + t.name()
              + " needs "
              + t.elementCount()
              + " values, supplier gave "
              + (values == null ? "null" : values.length));
    }
    return GgmlCodec.encode(t.type(), values);
  }

  private static void scalar(GgufSink sink, GgufValueType type, Object v) throws IOException {
    switch (type) {
      case UINT8, INT8 -> sink.u8((Integer) v);
      case UINT16, INT16 -> sink.u16((Integer) v);
      case UINT32 -> sink.u32((int) (long) (Long) v);
      case INT32 -> sink.u32((Integer) v);
      case FLOAT32 -> sink.u32(Float.floatToRawIntBits((Float) v));
      case BOOL -> sink.u8((Boolean) v ? 1 : 0);
      case STRING -> sink.string((String) v);
      case UINT64, INT64 -> sink.u64((Long) v);
      case FLOAT64 -> sink.u64(Double.doubleToRawLongBits((Double) v));
      case ARRAY -> throw new IllegalStateException("nested array");
    }
  }

  private long alignUp(long n) {
    return (n + alignment - 1) / alignment * alignment;
  }

  private GgufWriter put(String k, GgufValueType type, Object value) {
    return putEntry(k, new Entry(type, null, value));
  }

  private GgufWriter putEntry(String k, Entry e) {
    Objects.requireNonNull(k, "key");
    if (k.equals(GgufFile.ALIGNMENT_KEY)) {
      throw new IllegalArgumentException("set " + k + " with alignment(int)");
    }
    if (entries.containsKey(k)) {
      throw new IllegalArgumentException("duplicate metadata key " + k);
    }
    entries.put(k, e);
    return this;
  }

  private GgufWriter addPending(Pending p) {
    if (!tensorNames.add(p.info().name())) {
      throw new IllegalArgumentException("duplicate tensor " + p.info().name());
    }
    tensors.add(p);
    return this;
  }

  private static int checkRange(String k, int v, int min, int max) {
    if (v < min || v > max) {
      throw new IllegalArgumentException(k + ": " + v + " is outside " + min + ".." + max);
    }
    return v;
  }

  private static void checkJavaType(String k, GgufValueType type, Object v) {
    Class<?> expected =
        switch (type) {
          case UINT8, INT8, UINT16, INT16, INT32 -> Integer.class;
          case UINT32, UINT64, INT64 -> Long.class;
          case FLOAT32 -> Float.class;
          case FLOAT64 -> Double.class;
          case BOOL -> Boolean.class;
          case STRING -> String.class;
          case ARRAY -> List.class;
        };
    if (!expected.isInstance(v)) {
      throw new IllegalArgumentException(
          k + ": " + type + " elements must be " + expected.getSimpleName() + ", got " + v);
    }
  }

  /** Little-endian buffered output over a channel, tracking the byte position. */
  private static final class GgufSink {
    private final FileChannel ch;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private long flushed;

    GgufSink(FileChannel ch) {
      this.ch = ch;
    }

    long position() {
      return flushed + buf.position();
    }

    private void room(int n) throws IOException {
      if (buf.remaining() < n) {
        flush();
      }
    }

    void u8(int v) throws IOException {
      room(1);
      buf.put((byte) v);
    }

    void u16(int v) throws IOException {
      room(2);
      buf.putShort((short) v);
    }

    void u32(int v) throws IOException {
      room(4);
      buf.putInt(v);
    }

    void u64(long v) throws IOException {
      room(8);
      buf.putLong(v);
    }

    void string(String s) throws IOException {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      u64(b.length);
      bytes(b);
    }

    void bytes(byte[] b) throws IOException {
      if (b.length <= buf.remaining()) {
        buf.put(b);
        return;
      }
      flush();
      ByteBuffer src = ByteBuffer.wrap(b);
      while (src.hasRemaining()) {
        flushed += ch.write(src);
      }
    }

    void padTo(int alignment) throws IOException {
      padTo(alignment, 0);
    }

    /** Writes zeros until the position relative to {@code base} is a multiple of alignment. */
    void padTo(int alignment, long base) throws IOException {
      while ((position() - base) % alignment != 0) {
        u8(0);
      }
    }

    void flush() throws IOException {
      buf.flip();
      while (buf.hasRemaining()) {
        flushed += ch.write(buf);
      }
      buf.clear();
    }
  }
}
