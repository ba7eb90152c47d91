package dev.duet.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class SamplingParamsTest {

  @Test
  void greedyParamsAreGreedyWithNoStopStrings() {
    SamplingParams p = SamplingParams.greedy(32);
    assertThat(p.temperature()).isZero();
    assertThat(p.topK()).isZero();
    assertThat(p.topP()).isEqualTo(1f);
    assertThat(p.maxTokens()).isEqualTo(32);
    assertThat(p.stop()).isEmpty();
    assertThat(p.ignoreEos()).isFalse();
    assertThat(p.isGreedy()).isTrue();
  }

  @Test
  void topKOfOneIsGreedyEvenWithATemperature() {
    assertThat(SamplingParams.random(0.8f, 1, 10).isGreedy()).isFalse();
    assertThat(SamplingParams.random(0.8f, 1, 10).withTopK(1).isGreedy()).isTrue();
  }

  @Test
  void withMethodsChangeOnlyTheirField() {
    SamplingParams p =
        SamplingParams.greedy(5)
            .withTemperature(0.7f)
            .withTopK(40)
            .withTopP(0.9f)
            .withSeed(42)
            .withMaxTokens(9)
            .withStop(List.of("\n\n"))
            .withIgnoreEos(true);
    assertThat(p).isEqualTo(new SamplingParams(0.7f, 40, 0.9f, 42, 9, List.of("\n\n"), true));
  }

  @Test
  void stopListIsCopiedSoLaterChangesDoNotLeakIn() {
    List<String> stops = new ArrayList<>(List.of("a"));
    SamplingParams p = SamplingParams.greedy(1).withStop(stops);
    stops.add("b");
    assertThat(p.stop()).containsExactly("a");
    assertThatThrownBy(() -> p.stop().add("c")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void topPAboveOneIsRejectedWithTheFieldAndValue() {
    assertThatThrownBy(() -> SamplingParams.greedy(1).withTopP(1.5f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("top_p must be in (0, 1], got 1.5");
  }

  @Test
  void topPOfZeroOrNaNIsRejected() {
    assertThatThrownBy(() -> SamplingParams.greedy(1).withTopP(0f))
        .hasMessageContaining("top_p")
        .hasMessageContaining("0.0");
    assertThatThrownBy(() -> SamplingParams.greedy(1).withTopP(Float.NaN))
        .hasMessageContaining("NaN");
  }

  @Test
  void negativeOrNonFiniteTemperatureIsRejected() {
    assertThatThrownBy(() -> SamplingParams.greedy(1).withTemperature(-0.1f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("temperature")
        .hasMessageContaining("-0.1");
    assertThatThrownBy(() -> SamplingParams.greedy(1).withTemperature(Float.NaN))
        .hasMessageContaining("temperature");
    assertThatThrownBy(() -> SamplingParams.greedy(1).withTemperature(Float.POSITIVE_INFINITY))
        .hasMessageContaining("Infinity");
  }

  @Test
  void negativeTopKIsRejected() {
    assertThatThrownBy(() -> SamplingParams.greedy(1).withTopK(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("top_k")
        .hasMessageContaining("-1");
  }

  @Test
  void maxTokensBelowOneIsRejected() {
    assertThatThrownBy(() -> SamplingParams.greedy(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("max_tokens must be >= 1, got 0");
  }

  @Test
  void emptyNullOrTooManyStopStringsAreRejected() {
    assertThatThrownBy(() -> SamplingParams.greedy(1).withStop(List.of("ok", "")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stop[1]");
    assertThatThrownBy(() -> SamplingParams.greedy(1).withStop(Collections.singletonList(null)))
        .hasMessageContaining("stop[0]")
        .hasMessageContaining("null");
    assertThatThrownBy(() -> SamplingParams.greedy(1).withStop(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stop");
    List<String> seventeen = Collections.nCopies(17, "x");
    assertThatThrownBy(() -> SamplingParams.greedy(1).withStop(seventeen))
        .hasMessage("stop must have at most 16 strings, got 17");
    assertThat(SamplingParams.greedy(1).withStop(Collections.nCopies(16, "x")).stop()).hasSize(16);
  }
}
