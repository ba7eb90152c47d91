package dev.duet.engine.safetensors;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.gguf.GgmlCodec;
import dev.duet.engine.gguf.GgmlType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Builds {@code .safetensors} files, and sharded Hugging Face model directories, from float values.
 *
 * <p>Tensors are stored as F32, F16 or BF16 (encoded by {@link GgmlCodec}), in insertion order,
 * back to back from offset 0 of the data section. The header is compact JSON: {@code
 * "__metadata__"} first (omitted when there is no metadata), then each tensor as {@code
 * {"dtype":..,"shape":[..],"data_offsets":[begin,end]}}, padded with spaces to a multiple of 8
 * bytes as the reference implementation does. Shapes are in safetensors (PyTorch) order, outermost
 * first. Value suppliers are called once, while writing. Files are written to a temporary file in
 * the target directory and moved into place, so readers never see a partial file.
 *
 * <p>Not thread-safe; a writer can be written more than once.
 */
public final class SafetensorsWriter {
  /** The file a single-file Hugging Face model directory holds. */
  public static final String SINGLE_FILE = "model.safetensors";

  /** The index of a sharded Hugging Face model directory. */
  public static final String INDEX_FILE = "model.safetensors.index.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private record Pending(String name, GgmlType type, long[] shape, Supplier<float[]> values) {
    long elements() {
      long n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      return n;
    }

    long byteSize() {
      return type.bytesFor(elements());
    }
  }

  private final Map<String, String> metadata = new LinkedHashMap<>();
  private final Map<String, Pending> tensors = new LinkedHashMap<>();

  public SafetensorsWriter() {}

  /** Adds a {@code __metadata__} string entry. */
  public SafetensorsWriter putMetadata(String key, String value) {
    metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
    return this;
  }

  /**
   * Adds a tensor; {@code values} must supply exactly the product of {@code shape} floats when the
   * file is written.
   *
   * @param type F32, F16 or BF16
   * @param shape safetensors order (outermost first); empty for a scalar
   */
  public SafetensorsWriter addTensor(
      String name, GgmlType type, long[] shape, Supplier<float[]> values) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(values, "values");
    SafetensorsTensor.dtypeOf(type); // rejects quantized types
    if (name.equals(SafetensorsFile.METADATA_KEY)) {
      throw new IllegalArgumentException("a tensor cannot be named " + name);
    }
    if (tensors.containsKey(name)) {
      throw new IllegalArgumentException("duplicate tensor " + name);
    }
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "tensor " + name + " has a negative dimension: " + Arrays.toString(shape));
      }
    }
    Pending p = new Pending(name, type, shape.clone(), values);
    if (p.elements() > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("tensor " + name + " has too many elements for a float[]");
    }
    tensors.put(name, p);
    return this;
  }

  /** Writes all tensors to one file. */
  public void write(Path out) throws IOException {
    writeFile(out, metadata, List.copyOf(tensors.values()));
  }

  /**
   * Writes a Hugging Face model directory: {@value #SINGLE_FILE} when everything fits in one shard
   * of at most {@code maxShardBytes} data bytes, else {@code model-00001-of-0000N.safetensors}
   * shards plus {@value #INDEX_FILE} ({@code {"metadata": {"total_size": ..}, "weight_map":
   * {tensor: shard}}}). Tensors fill shards greedily in insertion order; a tensor larger than the
   * limit gets a shard of its own. Every shard carries the metadata.
   *
   * @return the files written, shards first, then the index if any
   */
  public List<Path> writeSharded(Path dir, long maxShardBytes) throws IOException {
    if (maxShardBytes <= 0) {
      throw new IllegalArgumentException("maxShardBytes must be positive: " + maxShardBytes);
    }
    List<List<Pending>> shards = new ArrayList<>();
    List<Pending> current = new ArrayList<>();
    long currentBytes = 0;
    long totalBytes = 0;
    for (Pending p : tensors.values()) {
      long size = p.byteSize();
      if (!current.isEmpty() && currentBytes + size > maxShardBytes) {
        shards.add(current);
        current = new ArrayList<>();
        currentBytes = 0;
      }
      current.add(p);
      currentBytes += size;
      totalBytes += size;
    }
    if (!current.isEmpty() || shards.isEmpty()) {
      shards.add(current);
    }
    Files.createDirectories(dir);
    List<Path> written = new ArrayList<>();
    if (shards.size() == 1) {
      Path file = dir.resolve(SINGLE_FILE);
      writeFile(file, metadata, shards.get(0));
      written.add(file);
      return written;
    }
    ObjectNode index = JSON.createObjectNode();
    index.putObject("metadata").put("total_size", totalBytes);
    ObjectNode weightMap = index.putObject("weight_map");
    for (int i = 0; i < shards.size(); i++) {
      String shardName = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
      Path file = dir.resolve(shardName);
      writeFile(file, metadata, shards.get(i));
      written.add(file);
      for (Pending p : shards.get(i)) {
        weightMap.put(p.name(), shardName);
      }
    }
    Path indexFile = dir.resolve(INDEX_FILE);
    byte[] indexBytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index);
    atomicWrite(
        indexFile,
        ch -> {
          ByteBuffer b = ByteBuffer.wrap(indexBytes);
          while (b.hasRemaining()) {
            ch.write(b);
          }
        });
    written.add(indexFile);
    return written;
  }

  /** The exact header bytes (length prefix excluded, padding included) for these entries. */
  static byte[] header(Map<String, String> metadata, List<SafetensorsTensor> tensors) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (JsonGenerator g = new JsonFactory().createGenerator(bytes, JsonEncoding.UTF8)) {
      g.writeStartObject();
      if (!metadata.isEmpty()) {
        g.writeObjectFieldStart(SafetensorsFile.METADATA_KEY);
        for (Map.Entry<String, String> e : metadata.entrySet()) {
          g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
      }
      for (SafetensorsTensor t : tensors) {
        g.writeObjectFieldStart(t.name());
        g.writeStringField("dtype", t.dtype());
        g.writeArrayFieldStart("shape");
        for (long d : t.shape()) {
          g.writeNumber(d);
        }
        g.writeEndArray();
        g.writeArrayFieldStart("data_offsets");
        g.writeNumber(t.begin());
        g.writeNumber(t.end());
        g.writeEndArray();
        g.writeEndObject();
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int padding = (8 - bytes.size() % 8) % 8;
    for (int i = 0; i < padding; i++) {
      bytes.write(' ');
    }
    return bytes.toByteArray();
  }

  private static void writeFile(Path out, Map<String, String> metadata, List<Pending> entries)
      throws IOException {
    List<SafetensorsTensor> table = new ArrayList<>();
    long offset = 0;
    for (Pending p : entries) {
      long size = p.byteSize();
      table.add(
          new SafetensorsTensor(
              p.name(), SafetensorsTensor.dtypeOf(p.type()), p.shape(), offset, offset + size));
      offset += size;
    }
    byte[] header = header(metadata, table);
    atomicWrite(
        out,
        ch -> {
          ByteBuffer prefix = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
          prefix.putLong(header.length).flip();
          writeFully(ch, prefix);
          writeFully(ch, ByteBuffer.wrap(header));
          for (Pending p : entries) {
            float[] values = p.values().get();
            if (values == null || values.length != p.elements()) {
              throw new IllegalArgumentException(
                  "tensor "
                      + p.name()
                      + " needs "
                      + p.elements()
                      + " values, got "
                      + (values == null ? "null" : values.length));
            }
            writeFully(ch, ByteBuffer.wrap(GgmlCodec.encode(p.type(), values)));
          }
        });
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private interface ChannelWork {
    void writeTo(FileChannel ch) throws IOException;
  }

  private static void atomicWrite(Path out, ChannelWork work) throws IOException {
    Path target = out.toAbsolutePath();
    Path dir = target.getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".partial");
    try {
      try (FileChannel ch =
          FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        work.writeTo(ch);
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
}
