package dev.duet.engine.tokenizer;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgufFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds the tokenizer a model file describes. */
public final class Tokenizers {

  private Tokenizers() {}

  /**
   * Reads {@code tokenizer.ggml.*}: {@code model} picks the algorithm ({@code llama} =
   * SentencePiece, {@code gpt2} = byte-level BPE, see {@link ByteLevelBpeTokenizer#fromGguf});
   * {@code tokens}, {@code scores}, {@code token_type}, the special ids and the {@code
   * add_bos_token} / {@code add_space_prefix} flags build the {@link Vocabulary}.
   */
  public static Tokenizer fromGguf(GgufFile gguf) {
    String model = gguf.getString("tokenizer.ggml.model");
    return switch (model) {
      case "llama" -> new SentencePieceTokenizer(vocabulary(gguf));
      case "gpt2" -> ByteLevelBpeTokenizer.fromGguf(gguf);
      default ->
          throw new ModelFormatException(
              gguf.path()
                  + ": tokenizer.ggml.model '"
                  + model
                  + "' is not supported yet (supported: llama, gpt2)");
    };
  }

  /** The Hugging Face tokenizer file of a model directory. */
  public static final String TOKENIZER_JSON = "tokenizer.json";

  /** Its configuration: special tokens, {@code add_bos_token}, the chat template. */
  public static final String TOKENIZER_CONFIG_JSON = "tokenizer_config.json";

  /**
   * Reads a Hugging Face model directory's {@value #TOKENIZER_JSON} with its optional {@value
   * #TOKENIZER_CONFIG_JSON}; see {@link #fromTokenizerJson}.
   *
   * @throws ModelFormatException when the directory has no tokenizer.json or it cannot be used
   */
  public static Tokenizer fromHfDirectory(Path dir) {
    Path json = dir.resolve(TOKENIZER_JSON);
    if (!Files.isRegularFile(json)) {
      throw new ModelFormatException(
          dir
              + ": no "
              + TOKENIZER_JSON
              + " (Duet reads the fast-tokenizer file, not vocab files)");
    }
    Path config = dir.resolve(TOKENIZER_CONFIG_JSON);
    try {
      return fromTokenizerJson(json, Files.isRegularFile(config) ? config : null);
    } catch (IllegalArgumentException | UncheckedIOException e) {
      throw new ModelFormatException(e.getMessage(), e);
    }
  }

  /**
   * Reads a {@code tokenizer.json}: byte-level BPE (Llama 3, Qwen2, SmolLM) as a {@link
   * ByteLevelBpeTokenizer}, SentencePiece-style BPE with {@code byte_fallback} (Llama 2, TinyLlama,
   * Mistral) as a {@link SentencePieceTokenizer}.
   *
   * @throws IllegalArgumentException when the file is malformed or of another model type
   */
  public static Tokenizer fromTokenizerJson(Path tokenizerJson, Path tokenizerConfigOrNull) {
    return HfTokenizerJson.loadAny(tokenizerJson, tokenizerConfigOrNull);
  }

  private static Vocabulary vocabulary(GgufFile gguf) {
    String[] pieces = gguf.getStringArray("tokenizer.ggml.tokens");
    float[] scores =
        gguf.has("tokenizer.ggml.scores")
            ? gguf.getFloatArray("tokenizer.ggml.scores")
            : new float[pieces.length];
    int[] types;
    if (gguf.has("tokenizer.ggml.token_type")) {
      types = gguf.getIntArray("tokenizer.ggml.token_type");
    } else {
      types = new int[pieces.length];
      java.util.Arrays.fill(types, 1);
    }
    if (scores.length != pieces.length || types.length != pieces.length) {
      throw new ModelFormatException(
          gguf.path()
              + ": tokenizer.ggml.tokens has "
              + pieces.length
              + " entries but scores has "
              + scores.length
              + " and token_type "
              + types.length);
    }
    return new Vocabulary(
        pieces,
        scores,
        types,
        gguf.findInt("tokenizer.ggml.bos_token_id").orElse(-1),
        gguf.findInt("tokenizer.ggml.eos_token_id").orElse(-1),
        gguf.findInt("tokenizer.ggml.unknown_token_id").orElse(-1),
        gguf.findBoolean("tokenizer.ggml.add_bos_token").orElse(true),
        gguf.findBoolean("tokenizer.ggml.add_space_prefix").orElse(true));
  }
}
