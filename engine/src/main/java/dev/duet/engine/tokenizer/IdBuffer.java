package dev.duet.engine.tokenizer;

import java.util.Arrays;

/**
 * A growable list of token ids that avoids boxing while an encoder collects its output.
 *
 * <p>Not thread-safe; each encode call uses its own instance.
 */
final class IdBuffer {
  private int[] ids = new int[16];
  private int size;

  void add(int id) {
    if (size == ids.length) {
      ids = Arrays.copyOf(ids, size * 2);
    }
    ids[size++] = id;
  }

  int size() {
    return size;
  }

  int[] toArray() {
    return Arrays.copyOf(ids, size);
  }
}
