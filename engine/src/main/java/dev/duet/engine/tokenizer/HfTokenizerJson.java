package dev.duet.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a Hugging Face {@code tokenizer.json} with a byte-level BPE model into a {@link
 * ByteLevelBpeTokenizer}.
 *
 * <ul>
 *   <li>{@code model.type} must be {@code "BPE"}; {@code model.vocab} gives piece → id, {@code
 *       model.merges} the merges as {@code "a b"} strings or {@code ["a", "b"]} pairs.
 *   <li>{@code added_tokens} [{id, content, special}]: special ones become {@link
 *       TokenType#CONTROL}, the others {@link TokenType#USER_DEFINED} (matched verbatim always, as
 *       in llama.cpp). Ids not covered by either become unused {@code [PAD<id>]} slots.
 *   <li>{@code pre_tokenizer}: {@code ByteLevel} (GPT-2 regex when {@code use_regex}, the default,
 *       is true), {@code Split} ({@code pattern.Regex}, or {@code pattern.String} quoted), {@code
 *       Digits} (one regex per digit with {@code individual_digits}, else per digit run), or a
 *       {@code Sequence} of those, applied in order; null means no pre-tokenization. {@code
 *       add_prefix_space} of ByteLevel is ignored, as is the Split {@code behavior} (always treated
 *       as {@code Isolated}, which is what byte-level models use). Other types are rejected.
 *   <li>{@code decoder} is not read: byte-level decoding is implied.
 *   <li>BOS/EOS come from {@code tokenizer_config.json} ({@code bos_token}, {@code eos_token},
 *       strings or {@code {content}}), when given. BOS is added by default when the config says
 *       {@code add_bos_token: true}, or, lacking that key, when the {@code post_processor} is a
 *       {@code TemplateProcessing} (possibly inside a {@code Sequence}) whose {@code single}
 *       template starts with the BOS token (as Llama 3's does).
 * </ul>
 */
final class HfTokenizerJson {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private HfTokenizerJson() {}

  static ByteLevelBpeTokenizer load(Path tokenizerJson, Path configJson) {
    JsonNode root = read(tokenizerJson);
    JsonNode model = root.path("model");
    String type = model.path("type").asText("");
    if (!type.equals("BPE")) {
      throw new IllegalArgumentException(
          tokenizerJson
              + ": model.type '"
              + type
              + "' is not supported (only byte-level \"BPE\" is)");
    }
    if (model.path("byte_fallback").asBoolean(false)) {
      throw new IllegalArgumentException(
          tokenizerJson
              + ": a SentencePiece-style BPE (byte_fallback) is not byte-level; read it with"
              + " Tokenizers.fromTokenizerJson");
    }
    try {
      return build(root, model, configJson == null ? null : read(configJson));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(tokenizerJson + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads either kind of {@code tokenizer.json}: byte-level BPE, or SentencePiece-style BPE ({@code
   * model.byte_fallback: true}, as Llama 2, TinyLlama and Mistral ship), which becomes a {@link
   * SentencePieceTokenizer}: pieces keep their ids, {@code <0xNN>} pieces are byte tokens, and each
   * piece's score is minus the rank of the first merge that makes it, so merging the
   * highest-scoring pair first is merging the lowest-ranked rule first. (The converter that writes
   * these files lists a piece's merges in the order of its SentencePiece score, so the two agree.)
   * The leading-space prefix comes from a {@code Prepend "▁"} normalizer or a {@code Metaspace}
   * pre-tokenizer.
   */
  static Tokenizer loadAny(Path tokenizerJson, Path configJson) {
    JsonNode root = read(tokenizerJson);
    JsonNode model = root.path("model");
    if (!model.path("type").asText("").equals("BPE")
        || !model.path("byte_fallback").asBoolean(false)) {
      return load(tokenizerJson, configJson);
    }
    try {
      return sentencePiece(root, model, configJson == null ? null : read(configJson));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(tokenizerJson + ": " + e.getMessage(), e);
    }
  }

  private static SentencePieceTokenizer sentencePiece(
      JsonNode root, JsonNode model, JsonNode config) {
    Map<Integer, String> pieceById = new HashMap<>();
    Map<Integer, Integer> typeById = new HashMap<>();
    readVocab(root, model, pieceById, typeById);
    int n = pieceById.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    String[] pieces = new String[n];
    int[] types = new int[n];
    Map<String, Integer> idByPiece = new HashMap<>();
    for (int id = 0; id < n; id++) {
      pieces[id] = pieceById.getOrDefault(id, "[PAD" + id + "]");
      types[id] = typeById.getOrDefault(id, TokenType.UNUSED.code());
      if (types[id] == TokenType.NORMAL.code() && pieces[id].matches("<0x[0-9A-Fa-f]{2}>")) {
        types[id] = TokenType.BYTE.code();
      }
      idByPiece.putIfAbsent(pieces[id], id);
    }
    JsonNode merges = model.path("merges");
    float[] scores = new float[n];
    Arrays.fill(scores, -(float) (merges.size() + 1));
    int rank = 0;
    for (JsonNode m : merges) {
      String merged =
          m.isArray() ? m.get(0).asText() + m.get(1).asText() : m.asText().replace(" ", "");
      Integer id = idByPiece.get(merged);
      if (id != null && scores[id] == -(float) (merges.size() + 1)) {
        scores[id] = -rank;
      }
      rank++;
    }
    int unk = idByPiece.getOrDefault(model.path("unk_token").asText(""), -1);
    if (unk >= 0) {
      types[unk] = TokenType.UNKNOWN.code();
    }
    String bosText = config == null ? null : tokenText(config.get("bos_token"));
    String eosText = config == null ? null : tokenText(config.get("eos_token"));
    int bos = idByPiece.getOrDefault(bosText == null ? "<s>" : bosText, -1);
    int eos = idByPiece.getOrDefault(eosText == null ? "</s>" : eosText, -1);
    boolean addBos =
        config != null && config.path("add_bos_token").isBoolean()
            ? config.get("add_bos_token").asBoolean()
            : bos >= 0;
    Vocabulary v =
        new Vocabulary(pieces, scores, types, bos, eos, unk, addBos, prependsSpace(root));
    return new SentencePieceTokenizer(v);
  }

  /** A {@code Prepend "▁"} normalizer, or a Metaspace pre-tokenizer that prepends. */
  private static boolean prependsSpace(JsonNode root) {
    for (JsonNode n : flatten(root.path("normalizer"), "normalizers")) {
      if (n.path("type").asText("").equals("Prepend")
          && n.path("prepend").asText("").equals("\u2581")) {
        return true;
      }
    }
    for (JsonNode n : flatten(root.path("pre_tokenizer"), "pretokenizers")) {
      if (n.path("type").asText("").equals("Metaspace")) {
        String scheme = n.path("prepend_scheme").asText(null);
        return scheme == null
            ? n.path("add_prefix_space").asBoolean(true)
            : !scheme.equals("never");
      }
    }
    return false;
  }

  private static List<JsonNode> flatten(JsonNode node, String listKey) {
    List<JsonNode> out = new ArrayList<>();
    if (node.isMissingNode() || node.isNull()) {
      return out;
    }
    if (node.path("type").asText("").equals("Sequence")) {
      for (JsonNode child : node.path(listKey)) {
        out.addAll(flatten(child, listKey));
      }
    } else {
      out.add(node);
    }
    return out;
  }

  private static JsonNode read(Path file) {
    try {
      return MAPPER.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static ByteLevelBpeTokenizer build(JsonNode root, JsonNode model, JsonNode config) {
    Map<Integer, String> pieceById = new HashMap<>();
    Map<Integer, Integer> typeById = new HashMap<>();
    readVocab(root, model, pieceById, typeById);
    int n = pieceById.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    String[] pieces = new String[n];
    int[] types = new int[n];
    Arrays.fill(types, TokenType.UNUSED.code());
    for (int id = 0; id < n; id++) {
      pieces[id] = pieceById.getOrDefault(id, "[PAD" + id + "]");
      types[id] = typeById.getOrDefault(id, TokenType.UNUSED.code());
    }

    List<ByteLevelBpeTokenizer.Merge> merges = new ArrayList<>();
    for (JsonNode m : model.path("merges")) {
      if (m.isTextual()) {
        merges.add(ByteLevelBpeTokenizer.Merge.parse(m.asText()));
      } else if (m.isArray() && m.size() == 2) {
        merges.add(new ByteLevelBpeTokenizer.Merge(m.get(0).asText(), m.get(1).asText()));
      } else {
        throw new IllegalArgumentException("model.merges entry " + m + " is not 'a b' or [a, b]");
      }
    }

    List<String> patterns = new ArrayList<>();
    addPreTokenizer(root.path("pre_tokenizer"), patterns);

    Map<String, Integer> idByPiece = new HashMap<>();
    for (int id = 0; id < n; id++) {
      idByPiece.putIfAbsent(pieces[id], id);
    }
    int bos = -1;
    int eos = -1;
    int unk = -1;
    String unkToken = model.path("unk_token").asText(null);
    if (unkToken != null) {
      unk = idByPiece.getOrDefault(unkToken, -1);
    }
    String bosText = null;
    Boolean addBos = null;
    if (config != null) {
      bosText = tokenText(config.get("bos_token"));
      String eosText = tokenText(config.get("eos_token"));
      if (bosText != null) {
        bos = idByPiece.getOrDefault(bosText, -1);
      }
      if (eosText != null) {
        eos = idByPiece.getOrDefault(eosText, -1);
      }
      if (config.path("add_bos_token").isBoolean()) {
        addBos = config.get("add_bos_token").asBoolean();
      }
    }
    if (addBos == null) {
      addBos = bosText != null && templateStartsWith(root.path("post_processor"), bosText);
    }
    return new ByteLevelBpeTokenizer(pieces, types, merges, patterns, bos, eos, unk, addBos);
  }

  /** {@code model.vocab} as normal tokens, then {@code added_tokens} (control when special). */
  private static void readVocab(
      JsonNode root,
      JsonNode model,
      Map<Integer, String> pieceById,
      Map<Integer, Integer> typeById) {
    JsonNode vocab = model.path("vocab");
    if (!vocab.isObject()) {
      throw new IllegalArgumentException("model.vocab is missing or not an object");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int id = e.getValue().asInt(-1);
      if (id < 0) {
        throw new IllegalArgumentException("model.vocab['" + e.getKey() + "'] is not an id");
      }
      pieceById.put(id, e.getKey());
      typeById.put(id, TokenType.NORMAL.code());
    }
    for (JsonNode added : root.path("added_tokens")) {
      int id = added.path("id").asInt(-1);
      String content = added.path("content").asText(null);
      if (id < 0 || content == null) {
        throw new IllegalArgumentException("added_tokens entry without id or content: " + added);
      }
      pieceById.put(id, content);
      typeById.put(
          id,
          added.path("special").asBoolean(false)
              ? TokenType.CONTROL.code()
              : TokenType.USER_DEFINED.code());
    }
  }

  private static String tokenText(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isTextual()) {
      return node.asText();
    }
    return node.path("content").asText(null);
  }

  private static void addPreTokenizer(JsonNode pre, List<String> patterns) {
    if (pre.isMissingNode() || pre.isNull()) {
      return;
    }
    String type = pre.path("type").asText("");
    switch (type) {
      case "Sequence" -> {
        for (JsonNode p : pre.path("pretokenizers")) {
          addPreTokenizer(p, patterns);
        }
      }
      case "ByteLevel" -> {
        if (pre.path("use_regex").asBoolean(true)) {
          patterns.add(ByteLevelBpeTokenizer.GPT2_PATTERN);
        }
      }
      case "Split" -> {
        JsonNode pattern = pre.path("pattern");
        if (pattern.has("Regex")) {
          patterns.add(pattern.get("Regex").asText());
        } else if (pattern.has("String")) {
          patterns.add(Pattern.quote(pattern.get("String").asText()));
        } else {
          throw new IllegalArgumentException("Split pre_tokenizer without a pattern: " + pre);
        }
      }
      case "Digits" ->
          patterns.add(pre.path("individual_digits").asBoolean(false) ? "\\p{N}" : "\\p{N}+");
      default ->
          throw new IllegalArgumentException("pre_tokenizer type '" + type + "' is not supported");
    }
  }

  private static boolean templateStartsWith(JsonNode post, String bosText) {
    if (post.isMissingNode() || post.isNull()) {
      return false;
    }
    String type = post.path("type").asText("");
    if (type.equals("Sequence")) {
      for (JsonNode p : post.path("processors")) {
        if (templateStartsWith(p, bosText)) {
          return true;
        }
      }
      return false;
    }
    if (!type.equals("TemplateProcessing")) {
      return false;
    }
    JsonNode first = post.path("single").path(0);
    return bosText.equals(first.path("SpecialToken").path("id").asText(null));
  }
}
