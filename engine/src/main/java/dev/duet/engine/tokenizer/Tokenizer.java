package dev.duet.engine.tokenizer;

/**
 * Turns text into token ids and back. Implemented by the SentencePiece-style tokenizer (GGUF {@code
 * tokenizer.ggml.model = llama}) and, later, the byte-level BPE one.
 *
 * <p>Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {

  /**
   * Encodes {@code text}. With {@code addBos} the model's BOS token (when it has one) comes first.
   * With {@code parseSpecial}, occurrences of special/control token texts (e.g. {@code <s>}) in the
   * text become those tokens; otherwise they are encoded as plain text. As in llama.cpp,
   * user-defined tokens ({@link TokenType#USER_DEFINED}) are matched either way.
   *
   * @throws IllegalArgumentException when some character cannot be represented by the vocabulary
   */
  int[] encode(String text, boolean addBos, boolean parseSpecial);

  /** Encodes plain text, adding BOS when the model asks for it, without parsing special tokens. */
  default int[] encode(String text) {
    return encode(text, addBosByDefault(), false);
  }

  /**
   * The bytes one token stands for when it follows other tokens (control tokens give no bytes). For
   * SentencePiece this maps {@code ▁} to a space and {@code <0xNN>} to the byte NN. A byte token
   * alone may be part of a UTF-8 character; {@link StreamingDetokenizer} reassembles them.
   *
   * @throws IndexOutOfBoundsException when {@code id} is not in {@code 0..vocabSize()-1}
   */
  byte[] tokenBytes(int id);

  /**
   * Decodes a whole sequence to text: the concatenated {@link #tokenBytes} read as UTF-8. The
   * leading space the tokenizer adds to the first piece of an encoded text is dropped when {@code
   * stripLeadingSpace} is true (the first byte of the first token that has any bytes, when it is a
   * space). Invalid UTF-8 becomes U+FFFD.
   *
   * @throws IndexOutOfBoundsException when an id is not in the vocabulary
   */
  String decode(int[] ids, boolean stripLeadingSpace);

  int vocabSize();

  /** The BOS id, or -1 when the model has none. */
  int bosId();

  /** The EOS id, or -1 when the model has none. */
  int eosId();

  /** Whether encode(text) adds BOS by default (GGUF {@code tokenizer.ggml.add_bos_token}). */
  boolean addBosByDefault();

  /** Whether the token is a control/special token (never printed as text). */
  boolean isSpecial(int id);

  /** The token's piece as stored in the vocabulary, e.g. {@code ▁the} or {@code <0x0A>}. */
  String piece(int id);

  /**
   * Whether encoding adds a leading space to the text (SentencePiece's space prefix), which a
   * completion's text should not show: streaming detokenizers strip it from the first token when
   * this is true. Byte-level BPE adds none, so a leading space there is real text.
   */
  default boolean addsSpacePrefix() {
    return false;
  }
}
