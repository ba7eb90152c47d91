package dev.duet.engine.tokenizer;

import static dev.duet.engine.tokenizer.TestVocabularies.A;
import static dev.duet.engine.tokenizer.TestVocabularies.BOS;
import static dev.duet.engine.tokenizer.TestVocabularies.EOS;
import static dev.duet.engine.tokenizer.TestVocabularies.O;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE_A;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE_HELL;
import static dev.duet.engine.tokenizer.TestVocabularies.SPACE_WOR;
import static dev.duet.engine.tokenizer.TestVocabularies.byteId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StreamingDetokenizerTest {

  private final SentencePieceTokenizer tokenizer =
      new SentencePieceTokenizer(TestVocabularies.sentencePiece(true));

  private List<String> chunks(int[] ids, boolean strip) {
    StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer, strip);
    List<String> chunks = new ArrayList<>();
    for (int id : ids) {
      chunks.add(stream.push(id));
    }
    chunks.add(stream.flush());
    return chunks;
  }

  private static int[] byteTokens(byte[] bytes) {
    int[] ids = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      ids[i] = byteId(bytes[i] & 0xFF);
    }
    return ids;
  }

  @Test
  void holdsBackACharacterUntilItsLastByteArrives() {
    StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer, false);

    assertThat(stream.push(SPACE_A)).isEqualTo(" a");
    assertThat(stream.push(byteId(0xE6))).isEmpty();
    assertThat(stream.push(byteId(0xBC))).isEmpty();
    assertThat(stream.hasPendingBytes()).isTrue();
    assertThat(stream.push(byteId(0xA2))).isEqualTo("漢");
    assertThat(stream.hasPendingBytes()).isFalse();
    assertThat(stream.flush()).isEmpty();
  }

  @Test
  void emitsBothHalvesOfASurrogatePairTogether() {
    StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer, false);
    for (int b : new int[] {0xF0, 0x9F, 0x98}) {
      assertThat(stream.push(byteId(b))).isEmpty();
    }

    assertThat(stream.push(byteId(0x80))).isEqualTo("😀");
  }

  @Test
  void stripsOnlyTheFirstTextTokensLeadingSpace() {
    StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer, true);

    assertThat(stream.push(BOS)).isEmpty();
    assertThat(stream.push(SPACE_HELL)).isEqualTo("hell");
    assertThat(stream.push(O)).isEqualTo("o");
    assertThat(stream.push(SPACE_WOR)).isEqualTo(" wor");
    assertThat(stream.push(EOS)).isEmpty();
  }

  @Test
  void flushTurnsAnIncompleteCharacterIntoAReplacementCharacter() {
    StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer, false);

    assertThat(stream.push(byteId(0xE6))).isEmpty();
    assertThat(stream.push(byteId(0xBC))).isEmpty();
    assertThat(stream.flush()).isEqualTo("\uFFFD");
    assertThat(stream.push(A)).isEqualTo("a");
  }

  @Test
  void replacesAByteThatCanNeverStartACharacterRightAway() {
    StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer, false);

    assertThat(stream.push(byteId(0xFF))).isEqualTo("\uFFFD");
    assertThat(stream.push(byteId(0xC3))).isEmpty();
    assertThat(stream.push(A)).isEqualTo("\uFFFDa");
  }

  @Test
  void rejectsIdsOutsideTheVocabulary() {
    StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer, false);

    assertThatThrownBy(() -> stream.push(-1)).isInstanceOf(IndexOutOfBoundsException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"café über niño", "漢字テキスト", "😀👩‍👩‍👧 ok", "a\u0301\uD83D\uDE00z"})
  void neverEmitsReplacementsOrLoneSurrogatesForValidTextSplitAtEveryByte(String text) {
    List<String> chunks = chunks(byteTokens(text.getBytes(StandardCharsets.UTF_8)), false);

    assertThat(String.join("", chunks)).isEqualTo(text);
    for (String chunk : chunks) {
      assertThat(chunk).doesNotContain("\uFFFD");
      if (!chunk.isEmpty()) {
        assertThat(Character.isLowSurrogate(chunk.charAt(0))).isFalse();
        assertThat(Character.isHighSurrogate(chunk.charAt(chunk.length() - 1))).isFalse();
      }
    }
  }

  @Test
  void neverEmitsReplacementsForEncodedTextMixingPiecesAndBytes() {
    String text = "hello 漢字 world 😀 cde é";
    int[] ids = tokenizer.encode(text, true, false);

    List<String> chunks = chunks(ids, true);

    assertThat(String.join("", chunks)).isEqualTo(text);
    assertThat(chunks).noneMatch(c -> c.contains("\uFFFD"));
  }

  @Test
  void chunksConcatenateToTheWholeDecodeForRandomIdSequences() {
    Random random = new Random(7);
    int[] interesting = {
      0xC3, 0xA9, 0xE6, 0xBC, 0xA2, 0xF0, 0x9F, 0x98, 0x80, 0x80, 0xBF, 0xC0, 0xED, 0xA0, 0xF4,
      0x90, 0xFF, 0x20, 0x41, 0xE0, 0xF8
    };
    for (int round = 0; round < 3000; round++) {
      int[] ids = new int[random.nextInt(16)];
      for (int i = 0; i < ids.length; i++) {
        int kind = random.nextInt(10);
        ids[i] =
            kind < 6
                ? byteId(interesting[random.nextInt(interesting.length)])
                : kind < 8 ? byteId(random.nextInt(256)) : random.nextInt(tokenizer.vocabSize());
      }
      for (boolean strip : new boolean[] {true, false}) {
        assertThat(String.join("", chunks(ids, strip)))
            .as("ids %s strip %s", Arrays.toString(ids), strip)
            .isEqualTo(tokenizer.decode(ids, strip));
      }
    }
  }
}
