package dev.duet.engine.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Turns a stream of generated token ids into text chunks that never end inside a UTF-8 character
 * (or between the two halves of a surrogate pair), for streaming output.
 *
 * <p>Byte-fallback tokens can split one character over several tokens; their bytes are held back
 * until the character is complete. Bytes that can never form a character become U+FFFD as soon as
 * that is certain, and whatever is still held back at {@link #flush()} becomes U+FFFD too. With
 * {@code stripLeadingSpace}, the leading space of the first token that has any bytes is dropped, so
 * that the concatenation of every chunk returned by {@link #push} and {@link #flush} equals {@link
 * Tokenizer#decode decode(ids, stripLeadingSpace)} of the same ids. Control tokens produce no text.
 *
 * <p>Not thread-safe: use one instance per generated sequence.
 */
public final class StreamingDetokenizer {

  private final Tokenizer tokenizer;
  private final CharsetDecoder decoder =
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPLACE)
          .onUnmappableCharacter(CodingErrorAction.REPLACE);
  private ByteBuffer pending = ByteBuffer.allocate(16);
  private boolean stripPending;

  /**
   * @param tokenizer gives each token's bytes
   * @param stripLeadingSpace whether to drop the space the tokenizer put before the first piece
   */
  public StreamingDetokenizer(Tokenizer tokenizer, boolean stripLeadingSpace) {
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    this.stripPending = stripLeadingSpace;
  }

  /**
   * Adds one token and returns the text it completes: possibly empty, possibly including characters
   * begun by earlier tokens.
   *
   * @throws IndexOutOfBoundsException when {@code id} is not in the vocabulary
   */
  public String push(int id) {
    byte[] bytes = tokenizer.tokenBytes(id);
    if (bytes.length == 0) {
      return "";
    }
    int from = 0;
    if (stripPending) {
      from = bytes[0] == ' ' ? 1 : 0;
      stripPending = false;
    }
    append(bytes, from);
    return decode(false);
  }

  /**
   * Ends the stream: returns the text still held back, with incomplete or invalid bytes as U+FFFD.
   * The instance can go on with further {@link #push} calls afterwards (the leading-space rule does
   * not apply again).
   */
  public String flush() {
    String tail = decode(true);
    decoder.reset();
    return tail;
  }

  /** Whether bytes of an unfinished character are held back. */
  public boolean hasPendingBytes() {
    return pending.position() > 0;
  }

  private void append(byte[] bytes, int from) {
    int count = bytes.length - from;
    if (pending.remaining() < count) {
      int capacity = Math.max(pending.capacity() * 2, pending.position() + count);
      int used = pending.position();
      pending = ByteBuffer.wrap(Arrays.copyOf(pending.array(), capacity)).position(used);
    }
    pending.put(bytes, from, count);
  }

  private String decode(boolean endOfInput) {
    pending.flip();
    // One UTF-8 byte never yields more than one UTF-16 char (a 4-byte sequence yields two).
    CharBuffer out = CharBuffer.allocate(pending.remaining() + 1);
    decoder.decode(pending, out, endOfInput);
    if (endOfInput) {
      decoder.flush(out);
    }
    pending.compact();
    return out.flip().toString();
  }
}
