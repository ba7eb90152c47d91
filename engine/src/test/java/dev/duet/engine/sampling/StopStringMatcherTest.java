package dev.duet.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StopStringMatcherTest {

  private static String cutAtFirstStop(String text, List<String> stops) {
    int cut = text.length();
    for (String s : stops) {
      int at = text.indexOf(s);
      if (at >= 0) {
        cut = Math.min(cut, at);
      }
    }
    return text.substring(0, cut);
  }

  private static String randomText(Random random, String alphabet, int length) {
    StringBuilder sb = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  @Test
  void textWithoutStopStringsPassesStraightThrough() {
    StopStringMatcher m = new StopStringMatcher(List.of());
    assertThat(m.offer("hello")).isEqualTo(new StopStringMatcher.Result("hello", false));
    assertThat(m.flush()).isEmpty();
  }

  @Test
  void aPossibleStartOfAStopStringIsHeldBackUntilSettled() {
    StopStringMatcher m = new StopStringMatcher(List.of("</end>"));
    assertThat(m.offer("abc</e")).isEqualTo(new StopStringMatcher.Result("abc", false));
    assertThat(m.pending()).isEqualTo("</e");
    assertThat(m.offer("x")).isEqualTo(new StopStringMatcher.Result("</ex", false));
    assertThat(m.pending()).isEmpty();
  }

  @Test
  void aStopStringSpanningChunksStopsAndIsNotEmitted() {
    StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
    assertThat(m.offer("one S")).isEqualTo(new StopStringMatcher.Result("one ", false));
    assertThat(m.offer("T")).isEqualTo(new StopStringMatcher.Result("", false));
    assertThat(m.offer("OP and more")).isEqualTo(new StopStringMatcher.Result("", true));
    assertThat(m.stopped()).isTrue();
    assertThat(m.offer("later")).isEqualTo(new StopStringMatcher.Result("", true));
    assertThat(m.flush()).isEmpty();
  }

  @Test
  void theEarliestOfSeveralStopStringsWins() {
    StopStringMatcher m = new StopStringMatcher(List.of("world", "lo w"));
    assertThat(m.offer("hello world")).isEqualTo(new StopStringMatcher.Result("hel", true));
  }

  @Test
  void flushReturnsTheHeldBackTailWhenGenerationEndsOtherwise() {
    StopStringMatcher m = new StopStringMatcher(List.of("\n\n"));
    assertThat(m.offer("last line\n").emit()).isEqualTo("last line");
    assertThat(m.flush()).isEqualTo("\n");
    assertThat(m.pending()).isEmpty();
  }

  @Test
  void aMatcherRebuiltFromPendingContinuesIdentically() {
    List<String> stops = List.of("abcd");
    StopStringMatcher first = new StopStringMatcher(stops);
    assertThat(first.offer("xxab").emit()).isEqualTo("xx");
    StopStringMatcher moved = new StopStringMatcher(stops, first.pending());
    assertThat(moved.offer("cd!")).isEqualTo(new StopStringMatcher.Result("", true));
  }

  @Test
  void invalidStopStringsOrPendingAreRejected() {
    assertThatThrownBy(() -> new StopStringMatcher(List.of("a", "")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stops[1]");
    assertThatThrownBy(() -> new StopStringMatcher(List.of("abc"), "bc"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pending")
        .hasMessageContaining("bc");
    assertThatThrownBy(() -> new StopStringMatcher(List.of("abc")).offer(null))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void emitsPlusFlushEqualTheTextCutBeforeTheFirstStopForRandomChunkings() {
    Random random = new Random(2024);
    String alphabet = "abc \n";
    int stoppedRuns = 0;
    for (int run = 0; run < 3000; run++) {
      List<String> stops = new ArrayList<>();
      int stopCount = random.nextInt(4);
      for (int i = 0; i < stopCount; i++) {
        stops.add(randomText(random, alphabet, 1 + random.nextInt(4)));
      }
      String text = randomText(random, alphabet, random.nextInt(60));
      StopStringMatcher m = new StopStringMatcher(stops);
      StringBuilder out = new StringBuilder();
      boolean stopped = false;
      int pos = 0;
      while (pos < text.length() && !stopped) {
        int end = Math.min(text.length(), pos + random.nextInt(6)); // empty chunks included
        StopStringMatcher.Result r = m.offer(text.substring(pos, end));
        out.append(r.emit());
        stopped = r.stopped();
        pos = end;
      }
      if (!stopped) {
        out.append(m.flush());
      }
      String expected = cutAtFirstStop(text, stops);
      assertThat(out.toString()).as("text %s stops %s", text, stops).isEqualTo(expected);
      assertThat(stopped)
          .as("text %s stops %s", text, stops)
          .isEqualTo(expected.length() < text.length());
      stoppedRuns += stopped ? 1 : 0;
    }
    assertThat(stoppedRuns).isBetween(300, 2700);
  }

  @Test
  void nothingIsEmittedThatALaterChunkCouldTurnIntoAStopString() {
    // Every emitted prefix must be a prefix of the final answer, whatever comes next.
    Random random = new Random(7);
    for (int run = 0; run < 2000; run++) {
      List<String> stops = List.of(randomText(random, "ab", 1 + random.nextInt(5)));
      String text = randomText(random, "ab", random.nextInt(30));
      StopStringMatcher m = new StopStringMatcher(stops);
      StringBuilder out = new StringBuilder();
      String expected = cutAtFirstStop(text, stops);
      for (int i = 0; i < text.length(); i++) {
        StopStringMatcher.Result r = m.offer(text.substring(i, i + 1));
        out.append(r.emit());
        assertThat(expected).startsWith(out.toString());
        // Held back only what a stop string could still start with.
        assertThat(stops.getFirst()).startsWith(m.pending());
        if (r.stopped()) {
          break;
        }
      }
    }
  }
}
