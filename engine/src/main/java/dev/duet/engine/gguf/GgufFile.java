package dev.duet.engine.gguf;

import dev.duet.engine.ModelFormatException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A memory-mapped GGUF (version 2 or 3) model file: its metadata, tensor table and tensor data.
 *
 * <p>{@link #open} maps the whole file read-only and parses the header, metadata and tensor table
 * through bounds-checked reads, so a truncated or corrupt file fails with a {@link
 * ModelFormatException} that names the file and the problem. Tensor data stays in the mapping;
 * {@link #tensorData} returns read-only slices of it. Metadata values are Java objects as described
 * in {@link GgufValueType}; the typed getters convert and range-check them.
 *
 * <p>Threading: immutable after {@code open}; all methods may be called from any thread. The
 * mapping uses a shared arena: {@link #close()} unmaps it, after which segments returned by {@link
 * #tensorData} must not be used (they throw {@link IllegalStateException}).
 */
public final class GgufFile implements AutoCloseable {
  /** Alignment of the data section and of each tensor when {@code general.alignment} is absent. */
  public static final int DEFAULT_ALIGNMENT = 32;

  static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
  static final String ALIGNMENT_KEY = "general.alignment";

  private final Path path;
  private final Arena arena;
  private final MemorySegment mapping;
  private final int version;
  private final int alignment;
  private final long dataOffset; // bytes from the start of the file
  private final Map<String, Object> metadata;
  private final Map<String, GgufValueType> valueTypes;
  private final Map<String, GgufValueType> elementTypes; // for ARRAY values
  private final List<GgufTensorInfo> tensors;
  private final Map<String, GgufTensorInfo> tensorsByName;
  private final AtomicBoolean closed = new AtomicBoolean();

  private GgufFile(Path path, Arena arena, MemorySegment mapping, GgufHeader header) {
    this.path = path;
    this.arena = arena;
    this.mapping = mapping;
    this.version = header.version();
    this.alignment = header.alignment();
    this.dataOffset = header.dataOffset();
    this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(header.metadata()));
    this.valueTypes = Map.copyOf(header.valueTypes());
    this.elementTypes = Map.copyOf(header.elementTypes());
    this.tensors = List.copyOf(header.tensors());
    Map<String, GgufTensorInfo> byName = new HashMap<>();
    for (GgufTensorInfo t : tensors) {
      byName.put(t.name(), t);
    }
    this.tensorsByName = Map.copyOf(byName);
  }

  /**
   * Maps and parses a GGUF file.
   *
   * @throws ModelFormatException when the file cannot be read, is not GGUF v2/v3, is truncated or
   *     corrupt, or holds a tensor type Duet does not support
   */
  public static GgufFile open(Path path) {
    Arena arena = Arena.ofShared();
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = channel.size();
      MemorySegment mapping =
          size == 0
              ? MemorySegment.ofArray(new byte[0])
              : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
      GgufHeader header = GgufHeader.parse(path, mapping);
      return new GgufFile(path, arena, mapping, header);
    } catch (IOException e) {
      arena.close();
      throw new ModelFormatException(path + ": cannot read GGUF file: " + e, e);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
  }

  public Path path() {
    return path;
  }

  /** The GGUF format version (2 or 3). */
  public int version() {
    return version;
  }

  /** Byte offset of the data section from the start of the file. */
  public long dataOffset() {
    return dataOffset;
  }

  /** Alignment in bytes of the data section and of every tensor offset. */
  public int alignment() {
    return alignment;
  }

  /** File size in bytes. */
  public long fileSize() {
    return mapping.byteSize();
  }

  /** All metadata, in file order; unmodifiable. */
  public Map<String, Object> metadata() {
    return metadata;
  }

  public boolean has(String key) {
    return metadata.containsKey(key);
  }

  /** The on-disk type of a metadata value. */
  public Optional<GgufValueType> valueType(String key) {
    return Optional.ofNullable(valueTypes.get(key));
  }

  /** The on-disk element type of an ARRAY metadata value. */
  public Optional<GgufValueType> arrayElementType(String key) {
    return Optional.ofNullable(elementTypes.get(key));
  }

  public String getString(String key) {
    return findString(key).orElseThrow(() -> missing(key));
  }

  public Optional<String> findString(String key) {
    Object v = metadata.get(key);
    if (v == null) {
      return Optional.empty();
    }
    if (v instanceof String s) {
      return Optional.of(s);
    }
    throw wrongType(key, "a string");
  }

  /** An integer of any integer value type that fits in an {@code int}. */
  public int getInt(String key) {
    return findInt(key).orElseThrow(() -> missing(key));
  }

  public OptionalInt findInt(String key) {
    if (!metadata.containsKey(key)) {
      return OptionalInt.empty();
    }
    long v = getLong(key);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw bad(key, "value " + v + " does not fit in a 32-bit int");
    }
    return OptionalInt.of((int) v);
  }

  /** An integer of any integer value type that fits in a {@code long}. */
  public long getLong(String key) {
    Object v = metadata.get(key);
    if (v == null) {
      throw missing(key);
    }
    GgufValueType t = valueTypes.get(key);
    if (!t.isInteger()) {
      throw wrongType(key, "an integer");
    }
    long value = ((Number) v).longValue();
    if (t == GgufValueType.UINT64 && value < 0) {
      throw bad(key, "value " + Long.toUnsignedString(value) + " does not fit in a 64-bit long");
    }
    return value;
  }

  /** A FLOAT32 or FLOAT64 value, or an integer, as a float. */
  public float getFloat(String key) {
    return findFloat(key).orElseThrow(() -> missing(key));
  }

  public Optional<Float> findFloat(String key) {
    Object v = metadata.get(key);
    if (v == null) {
      return Optional.empty();
    }
    GgufValueType t = valueTypes.get(key);
    if (t == GgufValueType.FLOAT32 || t == GgufValueType.FLOAT64) {
      return Optional.of(((Number) v).floatValue());
    }
    if (t.isInteger()) {
      return Optional.of((float) getLong(key));
    }
    throw wrongType(key, "a number");
  }

  public boolean getBoolean(String key) {
    return findBoolean(key).orElseThrow(() -> missing(key));
  }

  public Optional<Boolean> findBoolean(String key) {
    Object v = metadata.get(key);
    if (v == null) {
      return Optional.empty();
    }
    if (v instanceof Boolean b) {
      return Optional.of(b);
    }
    throw wrongType(key, "a bool");
  }

  /** An array of strings. */
  public String[] getStringArray(String key) {
    List<?> list = array(key, "an array of strings");
    if (elementTypes.get(key) != GgufValueType.STRING) {
      throw wrongType(key, "an array of strings");
    }
    return list.toArray(new String[0]);
  }

  /** An array of FLOAT32, FLOAT64 or integer values, as floats. */
  public float[] getFloatArray(String key) {
    List<?> list = array(key, "an array of numbers");
    GgufValueType element = elementTypes.get(key);
    boolean numeric =
        element == GgufValueType.FLOAT32
            || element == GgufValueType.FLOAT64
            || element.isInteger() && element != GgufValueType.UINT64;
    if (!numeric) {
      throw wrongType(key, "an array of numbers");
    }
    float[] out = new float[list.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ((Number) list.get(i)).floatValue();
    }
    return out;
  }

  /** An array of integer values that each fit in an {@code int}. */
  public int[] getIntArray(String key) {
    List<?> list = array(key, "an array of integers");
    GgufValueType element = elementTypes.get(key);
    if (!element.isInteger()) {
      throw wrongType(key, "an array of integers");
    }
    int[] out = new int[list.size()];
    for (int i = 0; i < out.length; i++) {
      long v = ((Number) list.get(i)).longValue();
      boolean unsignedOverflow = element == GgufValueType.UINT64 && v < 0;
      if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE || unsignedOverflow) {
        throw bad(key, "element " + i + " = " + v + " does not fit in a 32-bit int");
      }
      out[i] = (int) v;
    }
    return out;
  }

  /** All tensors, in file order. */
  public List<GgufTensorInfo> tensors() {
    return tensors;
  }

  public Optional<GgufTensorInfo> findTensor(String name) {
    return Optional.ofNullable(tensorsByName.get(name));
  }

  /** The named tensor; throws a {@link ModelFormatException} naming file and tensor if absent. */
  public GgufTensorInfo tensor(String name) {
    GgufTensorInfo t = tensorsByName.get(name);
    if (t == null) {
      throw new ModelFormatException(path + ": missing tensor " + name);
    }
    return t;
  }

  /** A read-only slice of the mapping holding exactly {@code t.byteSize()} bytes of data. */
  public MemorySegment tensorData(GgufTensorInfo t) {
    if (!t.equals(tensorsByName.get(t.name()))) {
      throw new IllegalArgumentException("tensor " + t + " is not from " + path);
    }
    return mapping.asSlice(dataOffset + t.offset(), t.byteSize()).asReadOnly();
  }

  /** The named tensor's data; see {@link #tensorData(GgufTensorInfo)}. */
  public MemorySegment tensorData(String name) {
    return tensorData(tensor(name));
  }

  /** Unmaps the file. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      arena.close();
    }
  }

  @Override
  public String toString() {
    return "GgufFile["
        + path
        + ", v"
        + version
        + ", "
        + metadata.size()
        + " keys, "
        + tensors.size()
        + " tensors]";
  }

  private List<?> array(String key, String expected) {
    Object v = metadata.get(key);
    if (v == null) {
      throw missing(key);
    }
    if (valueTypes.get(key) != GgufValueType.ARRAY) {
      throw wrongType(key, expected);
    }
    return (List<?>) v;
  }

  private ModelFormatException missing(String key) {
    return new ModelFormatException(path + ": missing metadata key '" + key + "'");
  }

  private ModelFormatException wrongType(String key, String expected) {
    GgufValueType t = valueTypes.get(key);
    GgufValueType element = elementTypes.get(key);
    String actual = t == GgufValueType.ARRAY && element != null ? "an ARRAY of " + element : "" + t;
    return new ModelFormatException(
        path + ": metadata key '" + key + "' is " + actual + ", expected " + expected);
  }

  private ModelFormatException bad(String key, String what) {
    return new ModelFormatException(path + ": metadata key '" + key + "': " + what);
  }
}
