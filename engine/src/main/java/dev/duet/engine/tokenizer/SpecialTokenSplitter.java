package dev.duet.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Cuts a text into raw-text fragments and special-token fragments, the way llama.cpp's {@code
 * tokenizer_st_partition} does: special tokens are taken one after the other, longest text first
 * (by UTF-8 length; ties by lower id), and each one splits every remaining raw fragment at all its
 * non-overlapping occurrences, left to right. So a longer token wins over a shorter one even when
 * the shorter one starts earlier.
 *
 * <p>Immutable and thread-safe.
 */
final class SpecialTokenSplitter {

  /** A raw-text fragment ({@code token == -1}) or one special token ({@code text == null}). */
  record Fragment(String text, int token) {
    Fragment {
      if ((text == null) == (token < 0)) {
        throw new IllegalArgumentException("a fragment is either text or a token");
      }
    }

    static Fragment raw(String text) {
      return new Fragment(text, -1);
    }

    static Fragment token(int id) {
      return new Fragment(null, id);
    }

    boolean isToken() {
      return token >= 0;
    }
  }

  private final int[] ids;
  private final String[] texts;

  /**
   * @param pieces the whole vocabulary's piece texts
   * @param candidateIds the ids of the tokens to split on; empty pieces are ignored
   */
  SpecialTokenSplitter(String[] pieces, int[] candidateIds) {
    int[] byLength =
        IntStream.of(candidateIds)
            .filter(id -> !pieces[id].isEmpty())
            .boxed()
            .sorted(
                Comparator.<Integer>comparingInt(
                        id -> -pieces[id].getBytes(StandardCharsets.UTF_8).length)
                    .thenComparingInt(id -> id))
            .mapToInt(Integer::intValue)
            .toArray();
    this.ids = byLength;
    this.texts = new String[byLength.length];
    for (int i = 0; i < byLength.length; i++) {
      texts[i] = pieces[byLength[i]];
    }
  }

  /** The fragments of {@code text}, in order; raw fragments are never empty. */
  List<Fragment> split(String text) {
    List<Fragment> fragments = new ArrayList<>();
    if (text.isEmpty()) {
      return fragments;
    }
    fragments.add(Fragment.raw(text));
    for (int i = 0; i < ids.length; i++) {
      String special = texts[i];
      List<Fragment> next = null;
      for (int f = 0; f < fragments.size(); f++) {
        Fragment fragment = fragments.get(f);
        int match = fragment.isToken() ? -1 : fragment.text().indexOf(special);
        if (match < 0) {
          if (next != null) {
            next.add(fragment);
          }
          continue;
        }
        if (next == null) {
          next = new ArrayList<>(fragments.subList(0, f));
        }
        String raw = fragment.text();
        int from = 0;
        while (match >= 0) {
          if (match > from) {
            next.add(Fragment.raw(raw.substring(from, match)));
          }
          next.add(Fragment.token(ids[i]));
          from = match + special.length();
          match = raw.indexOf(special, from);
        }
        if (from < raw.length()) {
          next.add(Fragment.raw(raw.substring(from)));
        }
      }
      if (next != null) {
        fragments = next;
      }
    }
    return fragments;
  }
}
