package dev.duet.engine.tokenizer;

/**
 * The kind of a vocabulary entry, as stored in GGUF {@code tokenizer.ggml.token_type} (the values
 * of llama.cpp's {@code llama_token_type}).
 *
 * <p>Immutable and thread-safe.
 */
public enum TokenType {
  /** {@code 0}: no type recorded; decodes to nothing, like llama.cpp's unsupported types. */
  UNDEFINED(0),
  /** {@code 1}: an ordinary piece of text. */
  NORMAL(1),
  /** {@code 2}: the unknown token ({@code <unk>}). */
  UNKNOWN(2),
  /** {@code 3}: a control token such as {@code <s>} or {@code </s>}; never printed. */
  CONTROL(3),
  /** {@code 4}: a user-defined token, always matched verbatim in the input. */
  USER_DEFINED(4),
  /** {@code 5}: a reserved, unused slot. */
  UNUSED(5),
  /** {@code 6}: a byte-fallback token {@code <0xNN>} standing for one raw byte. */
  BYTE(6);

  private static final TokenType[] BY_CODE = values();

  private final int code;

  TokenType(int code) {
    this.code = code;
  }

  /** The GGUF integer for this type. */
  public int code() {
    return code;
  }

  /**
   * The type with GGUF integer {@code code}.
   *
   * @throws IllegalArgumentException when {@code code} is not in {@code 0..6}
   */
  public static TokenType fromCode(int code) {
    if (code < 0 || code >= BY_CODE.length) {
      throw new IllegalArgumentException("unknown token type " + code + " (expected 0..6)");
    }
    return BY_CODE[code];
  }
}
