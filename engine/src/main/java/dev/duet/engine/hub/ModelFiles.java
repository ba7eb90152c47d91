package dev.duet.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Which files of a repository Duet needs to load it as a model directory: the config, the tokenizer
 * files and the safetensors weights, nothing else (no {@code .bin}, {@code .pt}, {@code .h5},
 * {@code .msgpack}, {@code .onnx}, and no {@code .gguf} unless the user names one). Only top-level
 * files count: the loader reads a flat directory.
 *
 * <p>Weights: the shards that {@value #INDEX} names when the repository has one (so a repository
 * that also carries e.g. a {@code consolidated.safetensors} costs no extra download), else {@code
 * model.safetensors} when present, else every top-level {@code .safetensors}.
 *
 * <p>Stateless; no I/O except {@link #shardsOf} and {@link #incompleteReason}, which read files.
 */
final class ModelFiles {
  static final String CONFIG = "config.json";
  static final String INDEX = "model.safetensors.index.json";
  static final String SINGLE = "model.safetensors";

  /** Small files loading may read, fetched when the repository has them. */
  static final Set<String> SUPPORT =
      Set.of(
          CONFIG,
          "generation_config.json",
          "tokenizer.json",
          "tokenizer_config.json",
          "special_tokens_map.json",
          "chat_template.jinja");

  private static final ObjectMapper JSON = new ObjectMapper();

  private ModelFiles() {}

  /**
   * The files to download for a whole-repository spec: the support files, then either {@value
   * #INDEX} (whose shards the caller fetches next, see {@link #shardsOf}) or the weights.
   *
   * @throws HubException when the repository has no safetensors weights (listing its {@code .gguf}
   *     files, if any, so the user can name one) or no {@value #CONFIG}
   */
  static List<RepoFile> select(HfSpec spec, RepoListing listing) throws HubException {
    List<RepoFile> top = listing.files().stream().filter(RepoFile::topLevel).toList();
    List<RepoFile> chosen = new ArrayList<>();
    for (RepoFile f : top) {
      if (SUPPORT.contains(f.path())) {
        chosen.add(f);
      }
    }
    Optional<RepoFile> index = listing.file(INDEX);
    Optional<RepoFile> single = listing.file(SINGLE);
    List<RepoFile> safetensors = top.stream().filter(f -> hasExtension(f, ".safetensors")).toList();
    if (index.isPresent()) {
      chosen.add(index.get());
    } else if (single.isPresent()) {
      chosen.add(single.get());
    } else if (!safetensors.isEmpty()) {
      chosen.addAll(safetensors);
    } else {
      throw noWeights(spec, listing);
    }
    if (listing.file(CONFIG).isEmpty()) {
      throw new HubException(
          spec + " has safetensors weights but no " + CONFIG + ", so it cannot be loaded");
    }
    return List.copyOf(chosen);
  }

  /**
   * The shard files a downloaded {@value #INDEX} names in its {@code weight_map}, in first-seen
   * order.
   */
  static List<String> shardsOf(Path index) throws HubException {
    JsonNode map;
    try {
      map = JSON.readTree(index.toFile()).path("weight_map");
    } catch (IOException e) {
      throw new HubException(index + " is not valid JSON: " + e.getMessage(), e);
    }
    if (!map.isObject() || map.isEmpty()) {
      throw new HubException(index + " has no weight_map");
    }
    Set<String> shards = new LinkedHashSet<>();
    for (JsonNode shard : map) {
      String name = shard.asText();
      if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
        throw new HubException(index + " names a bad shard file: '" + name + "'");
      }
      shards.add(name);
    }
    return List.copyOf(shards);
  }

  /**
   * Why a cached snapshot directory cannot be used offline ({@value #CONFIG} missing, no weights, a
   * shard its index names missing), or empty when it looks complete.
   */
  static Optional<String> incompleteReason(Path snapshot) throws HubException {
    if (!Files.isRegularFile(snapshot.resolve(CONFIG))) {
      return Optional.of(CONFIG + " is missing");
    }
    Path index = snapshot.resolve(INDEX);
    if (Files.isRegularFile(index)) {
      for (String shard : shardsOf(index)) {
        if (!Files.isRegularFile(snapshot.resolve(shard))) {
          return Optional.of("shard " + shard + " is missing");
        }
      }
      return Optional.empty();
    }
    try (var files = Files.list(snapshot)) {
      boolean weights = files.anyMatch(p -> p.getFileName().toString().endsWith(".safetensors"));
      return weights ? Optional.empty() : Optional.of("no .safetensors file");
    } catch (IOException e) {
      throw new HubException("cannot list " + snapshot + ": " + e.getMessage(), e);
    }
  }

  private static HubException noWeights(HfSpec spec, RepoListing listing) {
    List<String> ggufs =
        listing.files().stream()
            .filter(f -> hasExtension(f, ".gguf"))
            .map(RepoFile::path)
            .sorted()
            .toList();
    String base = HfSpec.PREFIX + spec.repoId();
    String at = spec.revision().equals(HfSpec.DEFAULT_REVISION) ? "" : "@" + spec.revision();
    if (!ggufs.isEmpty()) {
      return new HubException(
          spec
              + " has no safetensors weights, only GGUF files; name one, e.g. --model "
              + base
              + "/"
              + ggufs.getFirst()
              + at
              + ". GGUF files: "
              + String.join(", ", ggufs));
    }
    return new HubException(
        spec
            + " has neither safetensors nor GGUF weights; its files: "
            + String.join(", ", listing.files().stream().map(RepoFile::path).toList()));
  }

  private static boolean hasExtension(RepoFile f, String extension) {
    return f.path().toLowerCase(Locale.ROOT).endsWith(extension);
  }
}
