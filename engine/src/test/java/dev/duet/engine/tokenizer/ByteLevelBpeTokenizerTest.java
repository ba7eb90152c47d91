package dev.duet.engine.tokenizer;

import static dev.duet.engine.tokenizer.BpeTestVocab.APOS_S;
import static dev.duet.engine.tokenizer.BpeTestVocab.BOS;
import static dev.duet.engine.tokenizer.BpeTestVocab.D12;
import static dev.duet.engine.tokenizer.BpeTestVocab.D123;
import static dev.duet.engine.tokenizer.BpeTestVocab.D45;
import static dev.duet.engine.tokenizer.BpeTestVocab.D456;
import static dev.duet.engine.tokenizer.BpeTestVocab.EOS;
import static dev.duet.engine.tokenizer.BpeTestVocab.HELLO;
import static dev.duet.engine.tokenizer.BpeTestVocab.IT;
import static dev.duet.engine.tokenizer.BpeTestVocab.LL;
import static dev.duet.engine.tokenizer.BpeTestVocab.NL_NL;
import static dev.duet.engine.tokenizer.BpeTestVocab.SEP;
import static dev.duet.engine.tokenizer.BpeTestVocab.SPACE_SPACE;
import static dev.duet.engine.tokenizer.BpeTestVocab.SPACE_WORLD;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ByteLevelBpeTokenizerTest {

  private final ByteLevelBpeTokenizer llama3 = BpeTestVocab.tokenizer("llama-bpe", true);
  private final ByteLevelBpeTokenizer gpt2 = BpeTestVocab.tokenizer("gpt2", false);
  private final ByteLevelBpeTokenizer qwen2 = BpeTestVocab.tokenizer("qwen2", false);

  private static int[] bytesOf(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    return IntStream.range(0, b.length).map(i -> b[i] & 0xFF).toArray();
  }

  @Test
  void byteMapIsGpt2s() {
    assertThat(ByteLevelBpeTokenizer.byteToChar(' ')).isEqualTo('Ġ');
    assertThat(ByteLevelBpeTokenizer.byteToChar('\n')).isEqualTo('Ċ');
    assertThat(ByteLevelBpeTokenizer.byteToChar(0)).isEqualTo('\u0100');
    assertThat(ByteLevelBpeTokenizer.byteToChar('!')).isEqualTo('!');
    assertThat(ByteLevelBpeTokenizer.byteToChar(0x7F)).isEqualTo('\u0121');
    assertThat(ByteLevelBpeTokenizer.byteToChar(0xAD)).isEqualTo('\u0143');
    assertThat(ByteLevelBpeTokenizer.byteToChar(0xC3)).isEqualTo('Ã');
    assertThat(IntStream.range(0, 256).map(ByteLevelBpeTokenizer::byteToChar).distinct().count())
        .isEqualTo(256);
    for (int b = 0; b < 256; b++) {
      assertThat(llama3.tokenBytes(b)).containsExactly((byte) b);
    }
  }

  @Test
  void mergesFollowRankOrder() {
    // h e l l o: he(0), ll(1), he+ll(2), hell+o(6). " world": Ġw(3), or(4), Ġw+or(5), ld(7), (8).
    assertThat(llama3.encode("hello world", false, false)).containsExactly(HELLO, SPACE_WORLD);
    // e l l: "l l" (rank 1) beats "e l" (rank 9), leaving e + ll, which has no merge.
    assertThat(llama3.encode("ell", false, false)).containsExactly('e', LL);
    assertThat(llama3.encode("el", false, false)).containsExactly(BpeTestVocab.EL);
    assertThat(llama3.piece(HELLO)).isEqualTo("hello");
    assertThat(llama3.piece(SPACE_WORLD)).isEqualTo("Ġworld");
    assertThat(llama3.tokenBytes(SPACE_WORLD)).isEqualTo(" world".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void multiByteCharactersBecomeByteSymbols() {
    String text = "é漢😀";
    assertThat(llama3.encode(text, false, false)).containsExactly(bytesOf(text));
    assertThat(llama3.piece(0xC3)).isEqualTo("Ã");
    assertThat(llama3.decode(llama3.encode(text, false, false), false)).isEqualTo(text);
  }

  @Test
  void digitsSplitPerPattern() {
    assertThat(llama3.encode("1234567", false, false)).containsExactly(D123, D456, '7');
    // llama3: "451" + "2"; gpt2: one word where "1 2" (rank 10) goes before "4 5" (12).
    assertThat(llama3.encode("4512", false, false)).containsExactly(D45, '1', '2');
    assertThat(gpt2.encode("4512", false, false)).containsExactly(D45, D12);
    assertThat(qwen2.encode("4512", false, false)).containsExactly('4', '5', '1', '2');
    ByteLevelBpeTokenizer smollm = BpeTestVocab.tokenizer("smollm", false);
    assertThat(smollm.encode("a 123", false, false)).containsExactly('a', ' ', '1', '2', '3');
    assertThat(gpt2.encode("a 123", false, false)).containsExactly('a', ' ', D123);
  }

  @Test
  void contractionsAndNewlines() {
    assertThat(llama3.encode("it's", false, false)).containsExactly(IT, APOS_S);
    assertThat(gpt2.encode("it's", false, false)).containsExactly(IT, APOS_S);
    assertThat(llama3.encode("IT'S", false, false)).containsExactly('I', 'T', '\'', 'S');
    assertThat(llama3.preTokenize("IT'S")).containsExactly("IT", "'S");
    assertThat(gpt2.preTokenize("IT'S")).containsExactly("IT", "'", "S");
    assertThat(llama3.encode("a\n\nb", false, false)).containsExactly('a', NL_NL, 'b');
    assertThat(llama3.preTokenize("a  b\n")).containsExactly("a", " ", " b", "\n");
    assertThat(llama3.encode("a   b", false, false)).containsExactly('a', SPACE_SPACE, ' ', 'b');
    assertThat(llama3.preTokenize("x\u3000\u3000y")).containsExactly("x", "\u3000", "\u3000y");
  }

  @Test
  void specialTokensParsedOnlyWhenAsked() {
    String text = "<|begin_of_text|>hi<sep>";
    assertThat(llama3.encode(text, false, true)).containsExactly(BOS, 'h', 'i', SEP);
    int[] plain = llama3.encode(text, false, false);
    int[] expected =
        IntStream.concat(IntStream.of(bytesOf("<|begin_of_text|>hi")), IntStream.of(SEP)).toArray();
    assertThat(plain).containsExactly(expected);
    assertThat(llama3.decode(plain, false)).isEqualTo(text);
    assertThat(llama3.decode(llama3.encode(text, false, true), true)).isEqualTo("hi<sep>");
    assertThat(llama3.piece(BOS)).isEqualTo("<|begin_of_text|>");
    assertThat(llama3.tokenBytes(BOS)).isEmpty();
    assertThat(llama3.isSpecial(BOS)).isTrue();
    assertThat(llama3.isSpecial(SEP)).isFalse();
    assertThat(llama3.isSpecial('a')).isFalse();
  }

  @Test
  void bosFollowsFlag() {
    assertThat(llama3.encode("hello")).containsExactly(BOS, HELLO);
    assertThat(gpt2.encode("hello")).containsExactly(HELLO);
    assertThat(gpt2.encode("", true, false)).containsExactly(BOS);
    assertThat(llama3.bosId()).isEqualTo(BOS);
    assertThat(llama3.eosId()).isEqualTo(EOS);
    assertThat(llama3.vocabSize()).isEqualTo(SEP + 1);
  }

  @Test
  void stripLeadingSpaceDoesNothing() {
    int[] ids = llama3.encode(" world", false, false);
    assertThat(ids).containsExactly(SPACE_WORLD);
    assertThat(llama3.decode(ids, true)).isEqualTo(" world");
  }

  @Test
  void missingMergedSymbolFallsBackToCharacters() {
    String[] pieces = {"a", "b"};
    ByteLevelBpeTokenizer t =
        new ByteLevelBpeTokenizer(
            pieces,
            new int[] {1, 1},
            List.of(ByteLevelBpeTokenizer.Merge.parse("a b")),
            List.of(ByteLevelBpeTokenizer.GPT2_PATTERN),
            -1,
            -1,
            -1,
            false);
    assertThat(t.encode("ab", false, false)).containsExactly(0, 1);
    assertThatThrownBy(() -> t.encode("c", false, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0x63");
  }

  @Test
  void unknownPreNameUsesGpt2Pattern() {
    assertThat(ByteLevelBpeTokenizer.preTokenizerPatterns("no-such-model"))
        .containsExactly(ByteLevelBpeTokenizer.GPT2_PATTERN);
    assertThat(ByteLevelBpeTokenizer.preTokenizerPatterns(null))
        .containsExactly(ByteLevelBpeTokenizer.GPT2_PATTERN);
  }

  @Test
  void randomUnicodeRoundTrips() {
    Random random = new Random(7);
    String alphabet = "helowrd 1234567890'\n\r\t.,!?é漢😀<>|_";
    for (ByteLevelBpeTokenizer t : List.of(llama3, gpt2, qwen2)) {
      for (int i = 0; i < 2000; i++) {
        StringBuilder sb = new StringBuilder();
        int length = random.nextInt(24);
        for (int j = 0; j < length; j++) {
          int cp;
          if (random.nextBoolean()) {
            int k = random.nextInt(alphabet.length());
            cp = alphabet.codePointAt(k);
            if (Character.isLowSurrogate(alphabet.charAt(k))) {
              cp = 'x';
            }
          } else {
            do {
              cp = random.nextInt(0x30000);
            } while (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE);
          }
          sb.appendCodePoint(cp);
        }
        String s = sb.toString();
        int[] ids = t.encode(s, false, false);
        assertThat(t.decode(ids, false)).as("round trip of %s", s).isEqualTo(s);
        assertThat(t.decode(ids, true)).isEqualTo(s);
        assertThat(t.encode(s, false, false)).containsExactly(ids); // cached path
      }
    }
  }

  @Test
  void streamingDetokenizerMatchesDecode() {
    Random random = new Random(11);
    String alphabet = "hello world 12345 é漢😀\n<|begin_of_text|>";
    for (int i = 0; i < 300; i++) {
      StringBuilder sb = new StringBuilder();
      int length = random.nextInt(40);
      for (int j = 0; j < length; j++) {
        int k = random.nextInt(alphabet.length());
        sb.appendCodePoint(alphabet.codePointAt(k));
      }
      int[] ids = llama3.encode(sb.toString(), true, random.nextBoolean());
      // BPE adds no space prefix, so callers stream with stripLeadingSpace = false.
      StreamingDetokenizer stream = new StreamingDetokenizer(llama3, false);
      StringBuilder out = new StringBuilder();
      for (int id : ids) {
        out.append(stream.push(id));
      }
      out.append(stream.flush());
      assertThat(out.toString()).isEqualTo(llama3.decode(ids, false));
    }
  }
}
