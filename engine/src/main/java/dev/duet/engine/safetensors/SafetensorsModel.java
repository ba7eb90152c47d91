package dev.duet.engine.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Hugging Face model directory of safetensors weights: {@code config.json} plus either a single
 * {@value SafetensorsWriter#SINGLE_FILE} or shards listed by {@value SafetensorsWriter#INDEX_FILE}
 * ({@code {"weight_map": {tensor: shard-file}}}).
 *
 * <p>{@link #open} parses {@code config.json}, maps every shard (see {@link SafetensorsFile}) and
 * checks that each tensor of the weight map is in the shard it names, so lookups by name work
 * across shards. Every failure is a {@link ModelFormatException} naming the file and the problem.
 *
 * <p>Threading: immutable after {@code open}; all methods may be called from any thread. {@link
 * #close()} closes every shard, after which their data segments must not be used.
 */
public final class SafetensorsModel implements AutoCloseable {
  /** The Hugging Face model configuration file. */
  public static final String CONFIG_FILE = "config.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final JsonNode config;
  private final List<SafetensorsFile> shards;
  private final Map<String, SafetensorsFile> shardByTensor;
  private final List<SafetensorsTensor> tensors;
  private final AtomicBoolean closed = new AtomicBoolean();

  private SafetensorsModel(
      Path dir,
      JsonNode config,
      List<SafetensorsFile> shards,
      Map<String, SafetensorsFile> shardByTensor) {
    this.dir = dir;
    this.config = config;
    this.shards = List.copyOf(shards);
    this.shardByTensor = shardByTensor;
    List<SafetensorsTensor> all = new ArrayList<>();
    for (Map.Entry<String, SafetensorsFile> e : shardByTensor.entrySet()) {
      all.add(e.getValue().tensor(e.getKey()));
    }
    this.tensors = List.copyOf(all);
  }

  /**
   * Opens a model directory.
   *
   * @throws ModelFormatException when {@code config.json} or the weights are missing or corrupt, or
   *     the index names a tensor its shard does not hold
   */
  public static SafetensorsModel open(Path dir) {
    JsonNode config = readJson(dir.resolve(CONFIG_FILE), "model config");
    if (!config.isObject()) {
      throw new ModelFormatException(dir.resolve(CONFIG_FILE) + ": not a JSON object");
    }
    Path index = dir.resolve(SafetensorsWriter.INDEX_FILE);
    Path single = dir.resolve(SafetensorsWriter.SINGLE_FILE);
    List<SafetensorsFile> shards = new ArrayList<>();
    try {
      Map<String, SafetensorsFile> shardByTensor = new LinkedHashMap<>();
      if (Files.exists(index)) {
        JsonNode weightMap = readJson(index, "safetensors index").get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
          throw new ModelFormatException(index + ": missing or non-object weight_map");
        }
        Map<String, SafetensorsFile> byShardName = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
          String tensor = e.getKey();
          JsonNode shardNode = e.getValue();
          if (!shardNode.isTextual()) {
            throw new ModelFormatException(
                index + ": weight_map entry for " + tensor + " is not a file name");
          }
          String shardName = shardNode.textValue();
          SafetensorsFile shard = byShardName.get(shardName);
          if (shard == null) {
            Path shardPath = dir.resolve(shardName).normalize();
            if (!shardPath.startsWith(dir.normalize()) || shardPath.equals(dir.normalize())) {
              throw new ModelFormatException(
                  index + ": shard " + shardName + " for " + tensor + " is outside " + dir);
            }
            if (!Files.isRegularFile(shardPath)) {
              throw new ModelFormatException(
                  index + ": shard " + shardName + " (holding " + tensor + ") does not exist");
            }
            shard = SafetensorsFile.open(shardPath);
            shards.add(shard);
            byShardName.put(shardName, shard);
          }
          if (shard.find(tensor).isEmpty()) {
            throw new ModelFormatException(
                index + ": tensor " + tensor + " is not in its shard " + shard.path());
          }
          shardByTensor.put(tensor, shard);
        }
      } else if (Files.exists(single)) {
        SafetensorsFile file = SafetensorsFile.open(single);
        shards.add(file);
        for (SafetensorsTensor t : file.tensors()) {
          shardByTensor.put(t.name(), file);
        }
      } else {
        throw new ModelFormatException(
            dir
                + ": no "
                + SafetensorsWriter.SINGLE_FILE
                + " or "
                + SafetensorsWriter.INDEX_FILE
                + " (not a safetensors model directory)");
      }
      return new SafetensorsModel(dir, config, shards, shardByTensor);
    } catch (RuntimeException | Error e) {
      for (SafetensorsFile s : shards) {
        s.close();
      }
      throw e;
    }
  }

  private static JsonNode readJson(Path file, String what) {
    try {
      JsonNode node = JSON.readTree(Files.readAllBytes(file));
      if (node == null || node.isMissingNode()) {
        throw new ModelFormatException(file + ": empty " + what);
      }
      return node;
    } catch (NoSuchFileException e) {
      throw new ModelFormatException(file + ": missing " + what + " file", e);
    } catch (IOException e) {
      throw new ModelFormatException(file + ": cannot read " + what + ": " + e.getMessage(), e);
    }
  }

  /** The model directory. */
  public Path dir() {
    return dir;
  }

  /** The parsed {@code config.json}. Treat as read-only. */
  public JsonNode config() {
    return config;
  }

  /** The open shards, in the order first referenced. */
  public List<SafetensorsFile> shards() {
    return shards;
  }

  /** All tensors across shards: weight-map order when sharded, header order otherwise. */
  public List<SafetensorsTensor> tensors() {
    return tensors;
  }

  public Optional<SafetensorsTensor> find(String name) {
    SafetensorsFile shard = shardByTensor.get(name);
    return shard == null ? Optional.empty() : shard.find(name);
  }

  /** The named tensor; a {@link ModelFormatException} naming the directory and tensor if absent. */
  public SafetensorsTensor tensor(String name) {
    return shard(name).tensor(name);
  }

  /** The shard holding the named tensor. */
  public SafetensorsFile shard(String name) {
    SafetensorsFile shard = shardByTensor.get(name);
    if (shard == null) {
      throw new ModelFormatException(dir + ": missing tensor " + name);
    }
    return shard;
  }

  /** The named tensor's GGML type; see {@link SafetensorsFile#ggmlType}. */
  public GgmlType ggmlType(String name) {
    SafetensorsFile shard = shard(name);
    return shard.ggmlType(shard.tensor(name));
  }

  /** The named tensor's data, a read-only slice of its shard's mapping. */
  public MemorySegment data(String name) {
    return shard(name).data(name);
  }

  /** Closes every shard. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      for (SafetensorsFile s : shards) {
        s.close();
      }
    }
  }

  @Override
  public String toString() {
    return "SafetensorsModel[" + dir + ", " + shards.size() + " shards, " + tensors.size() + "]";
  }
}
