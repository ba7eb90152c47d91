package dev.duet.engine.model;

import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.tensor.WeightMatrix;
import dev.duet.engine.tokenizer.ByteLevelBpeTokenizer;
import dev.duet.engine.tokenizer.SentencePieceTokenizer;
import dev.duet.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What {@code duet model inspect} reports about a loaded model: where it is, its architecture and
 * shapes, the dtypes of its matrices, its tokenizer, its chat template, its size, and what one
 * token of KV cache costs.
 *
 * @param path the GGUF file or Hugging Face directory
 * @param format its format
 * @param config architecture and shapes
 * @param parameters weights in the model (the embedding once when tied)
 * @param matrixDtypes matrix count by dtype name
 * @param qkvBias whether the attention projections have biases
 * @param tiedEmbeddings whether the output head is the token embedding
 * @param fileBytes bytes on disk: the GGUF file or the directory's safetensors files
 * @param tokenizer {@code SentencePiece} or {@code byte-level BPE}
 * @param vocabSize tokens in the tokenizer's vocabulary
 * @param bos the BOS token's text, or null
 * @param eos the EOS token's text, or null
 * @param chatTemplate the model's chat template source, if it ships one
 * @param kvBytesPerToken bytes of K and V per token over all layers, by KV cache dtype
 */
public record ModelSummary(
    Path path,
    LlamaModel.Format format,
    LlamaConfig config,
    long parameters,
    Map<String, Integer> matrixDtypes,
    boolean qkvBias,
    boolean tiedEmbeddings,
    long fileBytes,
    String tokenizer,
    int vocabSize,
    String bos,
    String eos,
    Optional<String> chatTemplate,
    Map<KvDtype, Long> kvBytesPerToken) {

  /** Summarizes {@code model}. */
  public static ModelSummary of(LlamaModel model) {
    LlamaConfig c = model.config();
    LlamaWeights w = model.weights();
    List<WeightMatrix> matrices = new ArrayList<>();
    matrices.add(w.tokenEmbedding());
    boolean tied = w.output() == w.tokenEmbedding();
    if (!tied) {
      matrices.add(w.output());
    }
    long params = c.dim();
    for (LlamaWeights.Layer l : w.layers()) {
      matrices.addAll(List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown()));
      params += 2L * c.dim();
      if (l.bq() != null) {
        params += l.bq().length + l.bk().length + l.bv().length;
      }
    }
    Map<String, Integer> dtypes = new TreeMap<>();
    for (WeightMatrix m : matrices) {
      params += (long) m.rows() * m.cols();
      dtypes.merge(m.type().name(), 1, Integer::sum);
    }
    Map<KvDtype, Long> kv = new TreeMap<>();
    for (KvDtype d : KvDtype.values()) {
      kv.put(d, 2L * c.nLayers() * c.kvDim() * d.bytes());
    }
    Tokenizer tok = model.tokenizer();
    return new ModelSummary(
        model.path(),
        model.format(),
        c,
        params,
        dtypes,
        w.hasQkvBias(),
        tied,
        diskBytes(model.path()),
        tokenizerKind(tok),
        tok.vocabSize(),
        tok.bosId() >= 0 ? tok.piece(tok.bosId()) : null,
        tok.eosId() >= 0 ? tok.piece(tok.eosId()) : null,
        model.chatTemplateSource(),
        kv);
  }

  private static String tokenizerKind(Tokenizer t) {
    return switch (t) {
      case SentencePieceTokenizer s -> "SentencePiece";
      case ByteLevelBpeTokenizer b -> "byte-level BPE";
      default -> t.getClass().getSimpleName();
    };
  }

  private static long diskBytes(Path path) {
    try {
      if (!Files.isDirectory(path)) {
        return Files.size(path);
      }
      try (Stream<Path> files = Files.list(path)) {
        long total = 0;
        for (Path f : files.filter(f -> f.toString().endsWith(".safetensors")).toList()) {
          total += Files.size(f);
        }
        return total;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot size " + path + ": " + e.getMessage(), e);
    }
  }
}
