package dev.duet.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.gguf.GgufFile;
import dev.duet.engine.synth.SyntheticVocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A SentencePiece-style {@code tokenizer.json} (what transformers' LlamaConverter writes for Llama
 * 2, TinyLlama and Mistral) tokenizes exactly as the SentencePiece vocabulary it was converted
 * from. The conversion is redone here the way the converter does it: every split of every piece
 * into two pieces of the vocabulary is a merge, merges ordered by the piece's score.
 */
class SentencePieceTokenizerJsonTest {

  private static final List<String> TEXTS =
      List.of(
          "Once upon a time, there was a little girl named Lily.",
          "She loved to play outside in the park with her dog Max!",
          "Hello   world!\n\nA new paragraph: \u00fcn\u00efc\u00f6d\u00e9 and an emoji \ud83d\ude42",
          "  two leading spaces, 12345 numbers; (parentheses) and 'quotes'",
          "");

  @TempDir Path tmp;

  private Path convert(Vocabulary v, boolean metaspace) throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<String, Integer> ids = new HashMap<>();
    for (int id = 0; id < v.size(); id++) {
      ids.putIfAbsent(v.piece(id), id);
    }
    record Merge(String left, String right, float score, int leftId, int rightId) {}
    List<Merge> merges = new ArrayList<>();
    for (int id = 0; id < v.size(); id++) {
      String p = v.piece(id);
      if (v.type(id) != TokenType.NORMAL) {
        continue;
      }
      for (int i = 1; i < p.length(); i++) {
        String l = p.substring(0, i);
        String r = p.substring(i);
        if (ids.containsKey(l) && ids.containsKey(r)) {
          merges.add(new Merge(l, r, v.score(id), ids.get(l), ids.get(r)));
        }
      }
    }
    merges.sort(
        Comparator.comparingDouble((Merge m) -> -m.score())
            .thenComparingInt(Merge::leftId)
            .thenComparingInt(Merge::rightId));
    ObjectNode root = json.createObjectNode();
    ArrayNode added = root.putArray("added_tokens");
    ObjectNode vocab = json.createObjectNode();
    for (int id = 0; id < v.size(); id++) {
      vocab.put(v.piece(id), id);
      if (v.type(id) == TokenType.CONTROL || v.type(id) == TokenType.UNKNOWN) {
        added.addObject().put("id", id).put("content", v.piece(id)).put("special", true);
      }
    }
    if (metaspace) {
      root.putNull("normalizer");
      root.putObject("pre_tokenizer")
          .put("type", "Metaspace")
          .put("replacement", "\u2581")
          .put("prepend_scheme", "first")
          .put("split", false);
    } else {
      ObjectNode norm = root.putObject("normalizer");
      norm.put("type", "Sequence");
      ArrayNode list = norm.putArray("normalizers");
      list.addObject().put("type", "Prepend").put("prepend", "\u2581");
      list.addObject()
          .put("type", "Replace")
          .put("content", "\u2581")
          .putObject("pattern")
          .put("String", " ");
      root.putNull("pre_tokenizer");
    }
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.put("unk_token", v.piece(v.unkId()));
    model.put("byte_fallback", true);
    model.put("fuse_unk", true);
    model.set("vocab", vocab);
    ArrayNode m = model.putArray("merges");
    merges.forEach(x -> m.add(x.left() + " " + x.right()));
    Path file = tmp.resolve("tokenizer.json");
    json.writeValue(file.toFile(), root);
    Path config = tmp.resolve("tokenizer_config.json");
    json.writeValue(
        config.toFile(),
        json.createObjectNode()
            .put("bos_token", v.piece(v.bosId()))
            .put("eos_token", v.piece(v.eosId()))
            .put("add_bos_token", true));
    return file;
  }

  private void assertSameEncodings(Vocabulary v, boolean metaspace) throws IOException {
    Path file = convert(v, metaspace);
    Tokenizer fromJson =
        Tokenizers.fromTokenizerJson(file, file.resolveSibling("tokenizer_config.json"));
    Tokenizer original = new SentencePieceTokenizer(v);
    assertThat(fromJson).isInstanceOf(SentencePieceTokenizer.class);
    assertThat(fromJson.bosId()).isEqualTo(v.bosId());
    assertThat(fromJson.eosId()).isEqualTo(v.eosId());
    for (String text : TEXTS) {
      int[] ids = original.encode(text, true, false);
      assertThat(fromJson.encode(text, true, false)).as(text).containsExactly(ids);
      assertThat(fromJson.decode(ids, true)).isEqualTo(original.decode(ids, true));
    }
  }

  @Test
  void convertedSyntheticVocabularyEncodesAsTheOriginal() throws IOException {
    SyntheticVocabulary s = SyntheticVocabulary.build(2000);
    Vocabulary v =
        new Vocabulary(
            s.tokens(),
            s.scores(),
            s.types(),
            SyntheticVocabulary.BOS_ID,
            SyntheticVocabulary.EOS_ID,
            SyntheticVocabulary.UNK_ID,
            true,
            true);
    assertSameEncodings(v, false);
    assertSameEncodings(v, true);
  }

  @Test
  void convertedStories260kVocabularyEncodesAsTheOriginal() throws IOException {
    Path model =
        Path.of(
            System.getProperty("duet.shared.dir", "../../shared"), "models", "stories260K.gguf");
    assumeTrue(Files.isRegularFile(model), "stories260K.gguf not found at " + model);
    try (GgufFile gguf = GgufFile.open(model)) {
      Tokenizer t = Tokenizers.fromGguf(gguf);
      SentencePieceTokenizer sp = (SentencePieceTokenizer) t;
      assertSameEncodings(sp.vocabulary(), false);
    }
  }
}
