package dev.duet.engine.exec;

/**
 * What one step produced for one generation.
 *
 * @param generation the request
 * @param token the sampled token id, or -1 when the step ended the request on EOS
 * @param text the text this token completes (may be empty: half a character, held-back stop prefix)
 * @param finished whether the request has stopped ({@link Generation#stopReason()} says why)
 */
public record TokenEvent(Generation generation, int token, String text, boolean finished) {}
