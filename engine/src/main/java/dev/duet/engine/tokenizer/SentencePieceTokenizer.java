package dev.duet.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * The SentencePiece tokenizer of GGUF {@code tokenizer.ggml.model = llama} models (Llama 1/2,
 * Mistral, TinyLlama, stories…), matching llama.cpp's {@code llm_tokenizer_spm}.
 *
 * <p>Encoding: the text is first cut at special tokens (see {@link #encode(String, boolean,
 * boolean)}); each raw fragment gets a leading space when {@link Vocabulary#addSpacePrefix()} is
 * set and it starts the text or follows a special token, has every {@code ' '} replaced by {@code
 * ▁} (U+2581), and is merged by {@link SentencePieceMerge}. Characters that end up in no piece are
 * written as byte tokens {@code <0xNN>} (or, lacking those, the one-character piece for ASCII, or
 * else the unknown token).
 *
 * <p>Decoding ({@link #tokenBytes}): normal pieces give their UTF-8 with {@code ▁} turned into a
 * space, byte tokens their byte, user-defined tokens their text verbatim, the unknown token the
 * text {@code " ⁇ "} (U+2047 between spaces, as SentencePiece prints it), and control, unused and
 * undefined tokens nothing.
 *
 * <p>Immutable and safe to share between threads.
 */
public final class SentencePieceTokenizer implements Tokenizer {

  private static final String UNKNOWN_SURFACE = " \u2047 ";

  private final Vocabulary vocabulary;
  private final String[] pieces;
  private final float[] scores;
  private final int[] types;
  private final Map<String, Integer> pieceToId;
  private final byte[][] bytesById;
  private final int[] byteToId = new int[256];
  private final SpecialTokenSplitter userDefinedSplitter;
  private final SpecialTokenSplitter specialSplitter;

  /** Builds the lookup tables for {@code vocabulary}. */
  public SentencePieceTokenizer(Vocabulary vocabulary) {
    this.vocabulary = Objects.requireNonNull(vocabulary, "vocabulary");
    this.pieces = vocabulary.pieces();
    this.scores = vocabulary.scores();
    this.types = vocabulary.types();
    int n = pieces.length;
    pieceToId = HashMap.newHashMap(n);
    for (int id = 0; id < n; id++) {
      pieceToId.put(pieces[id], id); // a later duplicate wins, as in llama.cpp
    }
    bytesById = new byte[n][];
    for (int id = 0; id < n; id++) {
      bytesById[id] = surfaceBytes(pieces[id], TokenType.fromCode(types[id]));
    }
    for (int b = 0; b < 256; b++) {
      byteToId[b] = byteTokenId(b);
    }
    userDefinedSplitter = new SpecialTokenSplitter(pieces, idsOfType(TokenType.USER_DEFINED));
    specialSplitter =
        new SpecialTokenSplitter(
            pieces, idsOfType(TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.UNKNOWN));
  }

  private int[] idsOfType(TokenType... wanted) {
    return IntStream.range(0, types.length)
        .filter(
            id -> {
              for (TokenType t : wanted) {
                if (types[id] == t.code()) {
                  return true;
                }
              }
              return false;
            })
        .toArray();
  }

  /** llama.cpp's {@code byte_to_token}, with the unknown token instead of failing. */
  private int byteTokenId(int b) {
    Integer id = pieceToId.get("<0x%02X>".formatted(b));
    if (id == null && b < 0x80) {
      id = pieceToId.get(String.valueOf((char) b));
    }
    return id != null ? id : vocabulary.unkId();
  }

  private static byte[] surfaceBytes(String piece, TokenType type) {
    return switch (type) {
      case NORMAL -> piece.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
      case BYTE -> {
        int value = parseByteToken(piece);
        yield value >= 0
            ? new byte[] {(byte) value}
            : piece.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
      }
      case USER_DEFINED -> piece.getBytes(StandardCharsets.UTF_8);
      case UNKNOWN -> UNKNOWN_SURFACE.getBytes(StandardCharsets.UTF_8);
      case CONTROL, UNUSED, UNDEFINED -> new byte[0];
    };
  }

  /** The byte of a {@code <0xNN>} piece, or -1 when the piece has another form. */
  static int parseByteToken(String piece) {
    if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
      return -1;
    }
    int hi = Character.digit(piece.charAt(3), 16);
    int lo = Character.digit(piece.charAt(4), 16);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Special-token matching follows llama.cpp: user-defined tokens are always matched; with
   * {@code parseSpecial}, control and unknown tokens are matched too. Each raw-text fragment that
   * starts the text or follows a special token gets the space prefix (when the vocabulary asks for
   * one). An empty text encodes to nothing but the optional BOS.
   *
   * @throws IllegalArgumentException when a character cannot be represented at all (the vocabulary
   *     has neither its bytes nor an unknown token)
   */
  @Override
  public int[] encode(String text, boolean addBos, boolean parseSpecial) {
    Objects.requireNonNull(text, "text");
    IdBuffer out = new IdBuffer();
    if (addBos && vocabulary.bosId() >= 0) {
      out.add(vocabulary.bosId());
    }
    SpecialTokenSplitter splitter = parseSpecial ? specialSplitter : userDefinedSplitter;
    boolean previousWasSpecial = true;
    for (SpecialTokenSplitter.Fragment fragment : splitter.split(text)) {
      if (fragment.isToken()) {
        out.add(fragment.token());
        previousWasSpecial = true;
        continue;
      }
      String raw = fragment.text();
      if (vocabulary.addSpacePrefix() && previousWasSpecial) {
        raw = " " + raw;
      }
      new SentencePieceMerge(raw.replace(' ', '\u2581'), pieceToId, scores).tokenize(byteToId, out);
      previousWasSpecial = false;
    }
    return out.toArray();
  }

  @Override
  public byte[] tokenBytes(int id) {
    return bytesById[Objects.checkIndex(id, bytesById.length)].clone();
  }

  /** Like {@link #tokenBytes} without the copy; callers must not modify the array. */
  byte[] sharedTokenBytes(int id) {
    return bytesById[Objects.checkIndex(id, bytesById.length)];
  }

  /**
   * {@inheritDoc}
   *
   * <p>The space dropped by {@code stripLeadingSpace} is the first byte of the first token that has
   * any bytes, when that byte is a space.
   */
  @Override
  public String decode(int[] ids, boolean stripLeadingSpace) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
    boolean strip = stripLeadingSpace;
    for (int id : ids) {
      byte[] surface = sharedTokenBytes(id);
      if (surface.length == 0) {
        continue;
      }
      int from = strip && surface[0] == ' ' ? 1 : 0;
      strip = false;
      bytes.write(surface, from, surface.length - from);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Override
  public int vocabSize() {
    return pieces.length;
  }

  @Override
  public int bosId() {
    return vocabulary.bosId();
  }

  @Override
  public int eosId() {
    return vocabulary.eosId();
  }

  @Override
  public boolean addBosByDefault() {
    return vocabulary.addBos();
  }

  /** True for control tokens ({@link TokenType#CONTROL}), such as BOS and EOS. */
  @Override
  public boolean isSpecial(int id) {
    return types[Objects.checkIndex(id, types.length)] == TokenType.CONTROL.code();
  }

  @Override
  public String piece(int id) {
    return pieces[Objects.checkIndex(id, pieces.length)];
  }

  /** The vocabulary this tokenizer was built from. */
  public Vocabulary vocabulary() {
    return vocabulary;
  }

  @Override
  public boolean addsSpacePrefix() {
    return vocabulary.addSpacePrefix();
  }
}
