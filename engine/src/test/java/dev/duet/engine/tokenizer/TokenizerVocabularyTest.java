package dev.duet.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TokenizerVocabularyTest {

  private static Vocabulary of(String[] pieces, float[] scores, int[] types, int bos) {
    return new Vocabulary(pieces, scores, types, bos, -1, -1, true, true);
  }

  @Test
  void rejectsArraysOfDifferentLengths() {
    assertThatThrownBy(() -> of(new String[] {"a", "b"}, new float[] {0}, new int[] {1, 1}, -1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("differ in length");
  }

  @Test
  void rejectsSpecialIdsOutsideTheVocabulary() {
    assertThatThrownBy(() -> of(new String[] {"a"}, new float[] {0}, new int[] {1}, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bosId");
    assertThatThrownBy(() -> of(new String[] {"a"}, new float[] {0}, new int[] {1}, -2))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void acceptsMinusOneAsNoSuchToken() {
    assertThat(of(new String[] {"a"}, new float[] {0}, new int[] {1}, -1).bosId()).isEqualTo(-1);
  }

  @Test
  void rejectsUnknownTokenTypesNullPiecesAndNanScores() {
    assertThatThrownBy(() -> of(new String[] {"a"}, new float[] {0}, new int[] {7}, -1))
        .hasMessageContaining("type 7");
    assertThatThrownBy(() -> of(new String[] {null}, new float[] {0}, new int[] {1}, -1))
        .hasMessageContaining("null");
    assertThatThrownBy(() -> of(new String[] {"a"}, new float[] {Float.NaN}, new int[] {1}, -1))
        .hasMessageContaining("NaN");
  }

  @Test
  void isNotChangedByLaterWritesToTheCallersArrays() {
    String[] pieces = {"a", "b"};
    float[] scores = {1, 2};
    int[] types = {1, 3};
    Vocabulary vocabulary = of(pieces, scores, types, 0);
    pieces[0] = "x";
    scores[0] = 9;
    types[0] = 5;
    vocabulary.pieces()[1] = "y";

    assertThat(vocabulary.piece(0)).isEqualTo("a");
    assertThat(vocabulary.piece(1)).isEqualTo("b");
    assertThat(vocabulary.score(0)).isEqualTo(1f);
    assertThat(vocabulary.type(1)).isEqualTo(TokenType.CONTROL);
    assertThat(vocabulary)
        .isEqualTo(of(new String[] {"a", "b"}, new float[] {1, 2}, new int[] {1, 3}, 0));
  }

  @Test
  void mapsGgufTokenTypeCodes() {
    assertThat(TokenType.fromCode(6)).isEqualTo(TokenType.BYTE);
    assertThat(TokenType.USER_DEFINED.code()).isEqualTo(4);
    assertThatThrownBy(() -> TokenType.fromCode(-1)).isInstanceOf(IllegalArgumentException.class);
  }
}
