package dev.duet.engine.tokenizer;

import static dev.duet.engine.tokenizer.TestVocabularies.BOS;
import static dev.duet.engine.tokenizer.TestVocabularies.D;
import static dev.duet.engine.tokenizer.TestVocabularies.EOS;
import static dev.duet.engine.tokenizer.TestVocabularies.L;
import static dev.duet.engine.tokenizer.TestVocabularies.O;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE_HELL;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE_WOR;
import static dev.duet.engine.tokenizer.TestVocabularies.byteId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SentencePieceTokenizerRoundTripTest {

  private final SentencePieceTokenizer tokenizer =
      new SentencePieceTokenizer(TestVocabularies.sentencePiece(true));
  private final SentencePieceTokenizer noPrefix =
      new SentencePieceTokenizer(TestVocabularies.sentencePiece(false));

  @ParameterizedTest
  @ValueSource(
      strings = {
        "hello world",
        "abc de",
        "  leading and trailing spaces  ",
        "tabs\tand\nnewlines\r\n",
        "café, über, niño",
        "漢字",
        "😀 and 👩‍👩‍👧",
        "<s> looks special but is text </s>",
        "a",
        " ",
      })
  void encodingThenDecodingGivesBackTheText(String text) {
    assertThat(tokenizer.decode(tokenizer.encode(text, true, false), true)).isEqualTo(text);
    assertThat(noPrefix.decode(noPrefix.encode(text, true, false), false)).isEqualTo(text);
  }

  @Test
  void charactersMissingFromTheVocabularyGoThroughByteTokens() {
    int[] ids = tokenizer.encode("ñ漢😀", false, false);

    assertThat(ids)
        .containsExactly(
            SPACE,
            byteId(0xC3),
            byteId(0xB1),
            byteId(0xE6),
            byteId(0xBC),
            byteId(0xA2),
            byteId(0xF0),
            byteId(0x9F),
            byteId(0x98),
            byteId(0x80));
  }

  @Test
  void parsedSpecialTokensDecodeToNothingAndTheirFollowingPrefixSpaceStays() {
    int[] ids = tokenizer.encode("hello</s>world", true, true);

    assertThat(ids).containsExactly(BOS, SPACE_HELL, O, EOS, SPACE_WOR, L, D);
    assertThat(tokenizer.decode(ids, true)).isEqualTo("hello world");
  }

  @Test
  void randomTextsSurviveTheRoundTrip() {
    String[] alphabet = {
      "a", "b", "c", "d", "e", "h", "l", "o", "w", "r", " ", "  ", "\n", "é", "ü", "漢", "😀", "<",
      "s", ">", "/", "<s>", "</s>", "\u200D"
    };
    Random random = new Random(42);
    for (int round = 0; round < 2000; round++) {
      StringBuilder text = new StringBuilder();
      int length = random.nextInt(12);
      for (int i = 0; i < length; i++) {
        text.append(alphabet[random.nextInt(alphabet.length)]);
      }
      String s = text.toString();
      assertThat(tokenizer.decode(tokenizer.encode(s, random.nextBoolean(), false), true))
          .as("round trip of %s", s)
          .isEqualTo(s);
    }
  }

  @Test
  void encodesALongTextQuickly() {
    String text = "hello world abc cde é漢😀 ".repeat(20_000);

    int[] ids =
        assertTimeoutPreemptively(
            Duration.ofSeconds(10), () -> tokenizer.encode(text, false, false));

    assertThat(tokenizer.decode(ids, true)).isEqualTo(text);
  }
}
