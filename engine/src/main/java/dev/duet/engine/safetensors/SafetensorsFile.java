package dev.duet.engine.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A memory-mapped {@code .safetensors} file: its string metadata, tensor table and tensor data.
 *
 * <p>Format: a little-endian u64 header length {@code N}, then {@code N} bytes of UTF-8 JSON
 * mapping each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (plus an
 * optional {@code "__metadata__"} object of string values), then the data section; offsets are
 * relative to the first byte after the header. {@link #open} maps the whole file read-only and
 * validates the header (length, JSON, dtypes, sizes, offsets in bounds and not overlapping), so a
 * truncated or corrupt file fails with a {@link ModelFormatException} naming the file and the
 * problem. Tensor data is never copied to the heap; {@link #data} returns read-only slices of the
 * mapping.
 *
 * <p>Threading: immutable after {@code open}; all methods may be called from any thread. The
 * mapping uses a shared arena: {@link #close()} unmaps it, after which segments returned by {@link
 * #data} must not be used (they throw {@link IllegalStateException}).
 */
public final class SafetensorsFile implements AutoCloseable {
  /** Largest header accepted, as in the reference implementation. */
  public static final long MAX_HEADER_BYTES = 100L * 1000 * 1000;

  static final String METADATA_KEY = "__metadata__";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private final Path path;
  private final Arena arena;
  private final MemorySegment data; // the data section
  private final Map<String, String> metadata;
  private final List<SafetensorsTensor> tensors;
  private final Map<String, SafetensorsTensor> tensorsByName;
  private final AtomicBoolean closed = new AtomicBoolean();

  private SafetensorsFile(
      Path path,
      Arena arena,
      MemorySegment data,
      Map<String, String> metadata,
      List<SafetensorsTensor> tensors) {
    this.path = path;
    this.arena = arena;
    this.data = data;
    this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    this.tensors = List.copyOf(tensors);
    Map<String, SafetensorsTensor> byName = new HashMap<>();
    for (SafetensorsTensor t : tensors) {
      byName.put(t.name(), t);
    }
    this.tensorsByName = Map.copyOf(byName);
  }

  /**
   * Maps and validates a safetensors file.
   *
   * @throws ModelFormatException when the file cannot be read, is truncated, or its header is
   *     corrupt
   */
  public static SafetensorsFile open(Path path) {
    Arena arena = Arena.ofShared();
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size < Long.BYTES) {
        throw new ModelFormatException(
            path + ": truncated safetensors file: " + size + " bytes, too short for a header");
      }
      ByteBuffer lengthBytes = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      while (lengthBytes.hasRemaining()) {
        if (channel.read(lengthBytes, lengthBytes.position()) < 0) {
          throw new ModelFormatException(path + ": truncated safetensors file");
        }
      }
      long headerLength = lengthBytes.getLong(0);
      if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
        throw new ModelFormatException(
            path
                + ": bad safetensors header length "
                + Long.toUnsignedString(headerLength)
                + " (at most "
                + MAX_HEADER_BYTES
                + " bytes)");
      }
      if (headerLength > size - Long.BYTES) {
        throw new ModelFormatException(
            path
                + ": truncated safetensors file: header length "
                + headerLength
                + " but only "
                + (size - Long.BYTES)
                + " bytes follow");
      }
      if (headerLength < 2) {
        throw new ModelFormatException(
            path + ": bad safetensors header length " + headerLength + " (too short for JSON)");
      }
      MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
      byte[] header = mapping.asSlice(Long.BYTES, headerLength).toArray(ValueLayout.JAVA_BYTE);
      long dataStart = Long.BYTES + headerLength;
      MemorySegment data = mapping.asSlice(dataStart, size - dataStart).asReadOnly();
      Map<String, String> metadata = new LinkedHashMap<>();
      List<SafetensorsTensor> tensors = new ArrayList<>();
      parseHeader(path, header, data.byteSize(), metadata, tensors);
      return new SafetensorsFile(path, arena, data, metadata, tensors);
    } catch (IOException e) {
      arena.close();
      throw new ModelFormatException(path + ": cannot read safetensors file: " + e, e);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
  }

  private static void parseHeader(
      Path path,
      byte[] header,
      long dataSize,
      Map<String, String> metadata,
      List<SafetensorsTensor> tensors) {
    if (header[0] != '{') {
      throw new ModelFormatException(
          path + ": bad safetensors header: does not start with '{' (not a safetensors file?)");
    }
    JsonNode root;
    try {
      root = JSON.readTree(header);
    } catch (JsonProcessingException e) {
      throw new ModelFormatException(
          path + ": bad safetensors header JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new ModelFormatException(path + ": bad safetensors header JSON: " + e, e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelFormatException(path + ": bad safetensors header: not a JSON object");
    }
    for (Map.Entry<String, JsonNode> field : root.properties()) {
      String name = field.getKey();
      JsonNode value = field.getValue();
      if (name.equals(METADATA_KEY)) {
        parseMetadata(path, value, metadata);
      } else {
        tensors.add(parseTensor(path, name, value));
      }
    }
    List<SafetensorsTensor> byOffset = new ArrayList<>(tensors);
    byOffset.sort(
        Comparator.comparingLong(SafetensorsTensor::begin)
            .thenComparingLong(SafetensorsTensor::end));
    SafetensorsTensor previous = null;
    for (SafetensorsTensor t : byOffset) {
      if (t.end() > dataSize) {
        throw new ModelFormatException(
            path
                + ": tensor "
                + t.name()
                + " has data_offsets ["
                + t.begin()
                + ", "
                + t.end()
                + "] beyond the data section of "
                + dataSize
                + " bytes (truncated file?)");
      }
      if (previous != null && t.begin() < previous.end() && t.byteSize() > 0) {
        throw new ModelFormatException(
            path
                + ": tensors "
                + previous.name()
                + " and "
                + t.name()
                + " have overlapping data_offsets ["
                + previous.begin()
                + ", "
                + previous.end()
                + "] and ["
                + t.begin()
                + ", "
                + t.end()
                + "]");
      }
      if (t.byteSize() > 0) {
        previous = t;
      }
    }
  }

  private static void parseMetadata(Path path, JsonNode value, Map<String, String> metadata) {
    if (!value.isObject()) {
      throw new ModelFormatException(
          path + ": bad safetensors header: " + METADATA_KEY + " is not an object");
    }
    for (Map.Entry<String, JsonNode> e : value.properties()) {
      if (!e.getValue().isTextual()) {
        throw new ModelFormatException(
            path
                + ": bad safetensors header: "
                + METADATA_KEY
                + " value for '"
                + e.getKey()
                + "' is not a string");
      }
      metadata.put(e.getKey(), e.getValue().textValue());
    }
  }

  private static SafetensorsTensor parseTensor(Path path, String name, JsonNode value) {
    String where = path + ": tensor " + name;
    if (!value.isObject()) {
      throw new ModelFormatException(where + ": header entry is not an object");
    }
    JsonNode dtype = value.get("dtype");
    if (dtype == null || !dtype.isTextual()) {
      throw new ModelFormatException(where + ": missing or non-string dtype");
    }
    if (!SafetensorsTensor.isKnownDtype(dtype.textValue())) {
      throw new ModelFormatException(
          where + ": unknown dtype " + dtype.textValue() + " (not a safetensors dtype)");
    }
    long[] shape = longArray(where, value.get("shape"), "shape", -1);
    long[] offsets = longArray(where, value.get("data_offsets"), "data_offsets", 2);
    try {
      return new SafetensorsTensor(name, dtype.textValue(), shape, offsets[0], offsets[1]);
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(path + ": " + e.getMessage(), e);
    }
  }

  private static long[] longArray(String where, JsonNode node, String key, int length) {
    if (node == null || !node.isArray()) {
      throw new ModelFormatException(where + ": missing or non-array " + key);
    }
    if (length >= 0 && node.size() != length) {
      throw new ModelFormatException(
          where + ": " + key + " has " + node.size() + " entries, expected " + length);
    }
    long[] out = new long[node.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode n = node.get(i);
      if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
        throw new ModelFormatException(
            where + ": " + key + "[" + i + "] = " + n + " is not a non-negative 64-bit integer");
      }
      out[i] = n.longValue();
    }
    return out;
  }

  public Path path() {
    return path;
  }

  /** The {@code __metadata__} strings, in file order; unmodifiable, empty when absent. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** All tensors, in header order. */
  public List<SafetensorsTensor> tensors() {
    return tensors;
  }

  public Optional<SafetensorsTensor> find(String name) {
    return Optional.ofNullable(tensorsByName.get(name));
  }

  /** The named tensor; throws a {@link ModelFormatException} naming file and tensor if absent. */
  public SafetensorsTensor tensor(String name) {
    SafetensorsTensor t = tensorsByName.get(name);
    if (t == null) {
      throw new ModelFormatException(path + ": missing tensor " + name);
    }
    return t;
  }

  /**
   * The tensor's GGML type; a {@link ModelFormatException} naming the file when its dtype is not
   * F32, F16 or BF16.
   */
  public GgmlType ggmlType(SafetensorsTensor t) {
    try {
      return t.ggmlType();
    } catch (ModelFormatException e) {
      throw new ModelFormatException(path + ": " + e.getMessage(), e);
    }
  }

  /** A read-only slice of the mapping holding exactly {@code t.byteSize()} bytes of data. */
  public MemorySegment data(SafetensorsTensor t) {
    if (!t.equals(tensorsByName.get(t.name()))) {
      throw new IllegalArgumentException("tensor " + t + " is not from " + path);
    }
    return data.asSlice(t.begin(), t.byteSize());
  }

  /** The named tensor's data; see {@link #data(SafetensorsTensor)}. */
  public MemorySegment data(String name) {
    return data(tensor(name));
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
    return "SafetensorsFile["
        + path
        + ", "
        + metadata.size()
        + " metadata keys, "
        + tensors.size()
        + " tensors]";
  }
}
