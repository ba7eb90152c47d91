package dev.duet.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StopReasonTest {

  @Test
  void eosAndStopStringsFinishWithStop() {
    assertThat(StopReason.EOS.openAiFinishReason()).isEqualTo("stop");
    assertThat(StopReason.STOP_STRING.openAiFinishReason()).isEqualTo("stop");
  }

  @Test
  void runningOutOfTokensOrContextFinishesWithLength() {
    assertThat(StopReason.MAX_TOKENS.openAiFinishReason()).isEqualTo("length");
    assertThat(StopReason.CONTEXT_LENGTH.openAiFinishReason()).isEqualTo("length");
  }

  @Test
  void cancellationAndErrorsUseTheVllmNames() {
    assertThat(StopReason.CANCELLED.openAiFinishReason()).isEqualTo("abort");
    assertThat(StopReason.ERROR.openAiFinishReason()).isEqualTo("error");
  }
}
