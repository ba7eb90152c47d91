package dev.duet.engine.tokenizer;

import static dev.duet.engine.tokenizer.TestVocabularies.A;
import static dev.duet.engine.tokenizer.TestVocabularies.B;
import static dev.duet.engine.tokenizer.TestVocabularies.BC;
import static dev.duet.engine.tokenizer.TestVocabularies.BOS;
import static dev.duet.engine.tokenizer.TestVocabularies.CD;
import static dev.duet.engine.tokenizer.TestVocabularies.D;
import static dev.duet.engine.tokenizer.TestVocabularies.E;
import static dev.duet.engine.tokenizer.TestVocabularies.EOS;
import static dev.duet.engine.tokenizer.TestVocabularies.L;
import static dev.duet.engine.tokenizer.TestVocabularies.O;
import static dev.duet.engine.tokenizer.TestVocabularies.SEP;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE_A;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE_HELL;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE_WOR;
import static dev.duet.engine.tokenizer.TestVocabularies.UNK;
import static dev.duet.engine.tokenizer.TestVocabularies.byteId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Encodings worked out by hand with llama.cpp's algorithm on {@link TestVocabularies}. */
class SentencePieceTokenizerTest {

  private final SentencePieceTokenizer tokenizer =
      new SentencePieceTokenizer(TestVocabularies.sentencePiece(true));
  private final SentencePieceTokenizer noPrefix =
      new SentencePieceTokenizer(TestVocabularies.sentencePiece(false));

  @Test
  void higherScoreMergesFirstWhateverItsPosition() {
    // ▁ a b c: "bc" (-1) beats "▁a" (-3) and "ab" (-5); then "ab" is stale.
    assertThat(tokenizer.encode("abc", false, false)).containsExactly(SPACE_A, BC);
    assertThat(noPrefix.encode("abc", false, false)).containsExactly(A, BC);
  }

  @Test
  void equalScoresMergeLeftmostFirst() {
    // "cd" and "de" both score -2.5: the leftmost wins, leaving "e" alone.
    assertThat(tokenizer.encode("cde", false, false)).containsExactly(SPACE, CD, E);
  }

  @Test
  void mergesChainThroughNewNeighbourPairs() {
    // he → ▁he → ll → ▁w → or → ▁hell → ▁wor; "lo" and "llo" go stale.
    assertThat(tokenizer.encode("hello world", false, false))
        .containsExactly(SPACE_HELL, O, SPACE_WOR, L, D);
  }

  @Test
  void spacesBecomeTheirOwnPieceWhenNothingMergesWithThem() {
    assertThat(tokenizer.encode("ab cd", false, false)).containsExactly(SPACE_A, B, SPACE, CD);
  }

  @Test
  void addsBosOnlyWhenAsked() {
    assertThat(tokenizer.encode("abc", true, false)).containsExactly(BOS, SPACE_A, BC);
    assertThat(tokenizer.encode("abc")).containsExactly(BOS, SPACE_A, BC);
    assertThat(tokenizer.encode("", true, false)).containsExactly(BOS);
    assertThat(tokenizer.encode("", false, false)).isEmpty();
  }

  @Test
  void charactersOutsideTheVocabularyFallBackToByteTokens() {
    assertThat(tokenizer.encode("é", false, false))
        .containsExactly(SPACE, byteId(0xC3), byteId(0xA9));
    assertThat(tokenizer.encode("a😀", false, false))
        .containsExactly(SPACE_A, byteId(0xF0), byteId(0x9F), byteId(0x98), byteId(0x80));
    assertThat(noPrefix.encode("漢\n", false, false))
        .containsExactly(byteId(0xE6), byteId(0xBC), byteId(0xA2), byteId(0x0A));
  }

  @Test
  void missingByteTokensFallBackToTheUnknownToken() {
    Vocabulary vocabulary =
        new TestVocabularies.Builder()
            .add("<unk>", 0, TokenType.UNKNOWN)
            .add("▁", -1, TokenType.NORMAL)
            .add("a", -1, TokenType.NORMAL)
            .build(-1, -1, 0, false, true);
    SentencePieceTokenizer small = new SentencePieceTokenizer(vocabulary);

    assertThat(small.encode("aé", false, false)).containsExactly(1, 2, 0, 0);
  }

  @Test
  void failsWhenAByteHasNoTokenAtAll() {
    Vocabulary vocabulary =
        new TestVocabularies.Builder()
            .add("a", -1, TokenType.NORMAL)
            .build(-1, -1, -1, false, false);

    assertThatThrownBy(() -> new SentencePieceTokenizer(vocabulary).encode("ab", false, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0x62");
  }

  @Test
  void parsesControlTokensOnlyWhenAskedAndPrefixesTheTextAfterThem() {
    // llama.cpp puts the space prefix before every raw fragment that follows a special token.
    assertThat(tokenizer.encode("a<s>b</s>", false, true))
        .containsExactly(SPACE_A, BOS, SPACE, B, EOS);
    assertThat(tokenizer.encode("<unk>", false, true)).containsExactly(UNK);
    assertThat(tokenizer.encode("a<s>b", false, false))
        .containsExactly(SPACE_A, byteId('<'), byteId('s'), byteId('>'), B);
  }

  @Test
  void alwaysMatchesUserDefinedTokens() {
    assertThat(tokenizer.encode("a<sep>b", false, false)).containsExactly(SPACE_A, SEP, SPACE, B);
    assertThat(tokenizer.encode("<sep>", false, true)).containsExactly(SEP);
  }

  @Test
  void matchesTheLongestSpecialTokenFirstEvenWhenAShorterOneStartsEarlier() {
    Vocabulary vocabulary =
        new TestVocabularies.Builder()
            .add("<unk>", 0, TokenType.UNKNOWN)
            .add("a", -1, TokenType.NORMAL)
            .add("ab", 0, TokenType.CONTROL)
            .add("bcd", 0, TokenType.CONTROL)
            .build(-1, -1, 0, false, false);
    SentencePieceTokenizer special = new SentencePieceTokenizer(vocabulary);

    // "bcd" (3 bytes) is split out before "ab" (2 bytes) is looked for: a left-to-right
    // longest match would have taken "ab" and left "c", "d" as unknown.
    assertThat(special.encode("abcd", false, true)).containsExactly(1, 3);
    assertThat(special.encode("abcdab", false, true)).containsExactly(1, 3, 2);
  }

  @Test
  void givesEachKindOfTokenItsBytes() {
    assertThat(text(tokenizer.tokenBytes(SPACE_HELL))).isEqualTo(" hell");
    assertThat(tokenizer.tokenBytes(byteId(0x0A))).containsExactly(0x0A);
    assertThat(tokenizer.tokenBytes(byteId(0xFF))).containsExactly(0xFF);
    assertThat(tokenizer.tokenBytes(BOS)).isEmpty();
    assertThat(tokenizer.tokenBytes(EOS)).isEmpty();
    assertThat(text(tokenizer.tokenBytes(UNK))).isEqualTo(" \u2047 ");
    assertThat(text(tokenizer.tokenBytes(SEP))).isEqualTo("<sep>");
    assertThatThrownBy(() -> tokenizer.tokenBytes(tokenizer.vocabSize()))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void decodeDropsOnlyTheFirstTextTokensLeadingSpace() {
    int[] ids = {BOS, SPACE_HELL, O, SPACE_WOR, L, D, EOS};

    assertThat(tokenizer.decode(ids, true)).isEqualTo("hello world");
    assertThat(tokenizer.decode(ids, false)).isEqualTo(" hello world");
    assertThat(tokenizer.decode(new int[] {SPACE, SPACE_A}, true)).isEqualTo(" a");
  }

  @Test
  void decodeReplacesInvalidUtf8() {
    assertThat(tokenizer.decode(new int[] {byteId(0xC3), A}, false)).isEqualTo("\uFFFDa");
    assertThat(tokenizer.decode(new int[] {byteId(0xC3), byteId(0xA9)}, false)).isEqualTo("é");
  }

  @Test
  void reportsTheVocabularysSpecialTokens() {
    assertThat(tokenizer.vocabSize()).isEqualTo(285);
    assertThat(tokenizer.bosId()).isEqualTo(BOS);
    assertThat(tokenizer.eosId()).isEqualTo(EOS);
    assertThat(tokenizer.addBosByDefault()).isTrue();
    assertThat(tokenizer.isSpecial(BOS)).isTrue();
    assertThat(tokenizer.isSpecial(UNK)).isFalse();
    assertThat(tokenizer.isSpecial(SPACE_A)).isFalse();
    assertThat(tokenizer.piece(SPACE_A)).isEqualTo("▁a");
    assertThat(tokenizer.piece(byteId(0x0A))).isEqualTo("<0x0A>");
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
