package dev.duet.engine.synth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SyntheticVocabularyTest {

  /** Asserts the vocabulary is unique and every normal piece is a merge of two in-vocab pieces. */
  static void assertUniqueAndMergeReachable(String[] tokens, int[] types) {
    Set<String> all = new HashSet<>(List.of(tokens));
    assertThat(all).hasSize(tokens.length);
    for (int id = 0; id < tokens.length; id++) {
      if (types[id] != SyntheticVocabulary.NORMAL) {
        continue;
      }
      String piece = tokens[id];
      int chars = piece.codePointCount(0, piece.length());
      if (chars == 1) {
        continue;
      }
      boolean reachable = false;
      for (int split = 1; split < chars && !reachable; split++) {
        int at = piece.offsetByCodePoints(0, split);
        reachable = all.contains(piece.substring(0, at)) && all.contains(piece.substring(at));
      }
      assertThat(reachable).as("piece %d '%s' is a merge of two pieces", id, piece).isTrue();
    }
  }

  @Test
  void startsWithSpecialAndByteTokens() {
    SyntheticVocabulary v = SyntheticVocabulary.build(320);
    String[] t = v.tokens();
    int[] types = v.types();
    assertThat(t[0]).isEqualTo("<unk>");
    assertThat(t[1]).isEqualTo("<s>");
    assertThat(t[2]).isEqualTo("</s>");
    assertThat(t[3]).isEqualTo("<0x00>");
    assertThat(t[3 + 0x41]).isEqualTo("<0x41>");
    assertThat(t[258]).isEqualTo("<0xFF>");
    assertThat(t[259]).isEqualTo("\u2581");
    assertThat(t[260]).isEqualTo("a");
    assertThat(types[0]).isEqualTo(2);
    assertThat(types[1]).isEqualTo(3);
    assertThat(types[2]).isEqualTo(3);
    assertThat(types[3]).isEqualTo(6);
    assertThat(types[258]).isEqualTo(6);
    assertThat(types[259]).isEqualTo(1);
    assertThat(v.scores()[3]).isZero();
    assertThat(v.scores()[259]).isEqualTo(-0f);
    assertThat(v.scores()[300]).isEqualTo(-41f);
    assertUniqueAndMergeReachable(t, types);
  }

  @Test
  void fillsALlamaSizedVocabularyWithUniqueMergeReachablePieces() {
    SyntheticVocabulary v = SyntheticVocabulary.build(32000);
    String[] t = v.tokens();
    assertThat(t).hasSize(32000).doesNotContainNull();
    assertThat(List.of(t))
        .contains("\u2581the", "\u2581The", "the", "\u2581happy", "\u2581a", "ing");
    float[] s = v.scores();
    for (int id = 260; id < s.length; id++) {
      assertThat(s[id]).isLessThan(s[id - 1]);
    }
    assertUniqueAndMergeReachable(t, v.types());
  }

  @Test
  void isDeterministic() {
    assertThat(SyntheticVocabulary.build(5000).tokens())
        .containsExactly(SyntheticVocabulary.build(5000).tokens());
  }
}
