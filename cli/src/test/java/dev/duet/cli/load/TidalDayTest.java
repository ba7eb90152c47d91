package dev.duet.cli.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The compressed day: its volume peaks twice and troughs twice, the first peak prompt-heavy and the
 * second output-heavy, and its arrivals follow the rate.
 */
class TidalDayTest {
  @TempDir Path dir;

  private final TidalDay day = TidalDay.of(600, 10, 0.2, Path.of("/nonexistent"));

  @Test
  void thePeaksAreAtAQuarterAndThreeQuartersAndTheTroughsAtTheStartAndTheMiddle() {
    assertThat(day.rate(150)).isEqualTo(10, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(day.rate(450)).isEqualTo(10, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(day.rate(0)).isEqualTo(2, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(day.rate(300)).isEqualTo(2, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void theFirstPeakIsPromptHeavyAndTheSecondOutputHeavy() {
    SplittableRandom r = new SplittableRandom(1);
    double promptAtFirst = 0;
    double outputAtFirst = 0;
    double promptAtSecond = 0;
    double outputAtSecond = 0;
    for (int i = 0; i < 2000; i++) {
      Workload.Shape a = day.sample(150, r, 32_768);
      Workload.Shape b = day.sample(450, r, 32_768);
      promptAtFirst += a.promptTokens();
      outputAtFirst += a.outputTokens();
      promptAtSecond += b.promptTokens();
      outputAtSecond += b.outputTokens();
    }
    assertThat(promptAtFirst / outputAtFirst).isGreaterThan(20);
    assertThat(promptAtSecond / outputAtSecond).isLessThan(2);
    assertThat(day.promptHeavy().name()).isEqualTo("prompt-heavy");
  }

  @Test
  void theLongAnswersPeakIsDrawnFromTheConversationTracesLongAnswers() throws Exception {
    Path traces = dir.resolve("traces");
    Files.createDirectories(traces);
    String header = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
    Files.writeString(
        traces.resolve("azure-llm-2023-code.csv"),
        header + "2023-11-16 18:17:03.9799600,4808,10\n2023-11-16 18:17:04.0319600,800,8\n");
    Files.writeString(
        traces.resolve("azure-llm-2023-conv.csv"),
        header + "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,1396,409\n");
    TidalDay longAnswers =
        TidalDay.of(600, 10, 0.2, traces, TidalDay.OutputHeavy.of("long-answers"));
    TidalDay shortPrompts = TidalDay.of(600, 10, 0.2, traces);
    SplittableRandom r = new SplittableRandom(3);
    for (int i = 0; i < 50; i++) {
      assertThat(longAnswers.sample(450, r, 32_768)).isEqualTo(new Workload.Shape(1396, 409));
      assertThat(shortPrompts.sample(450, r, 32_768)).isEqualTo(new Workload.Shape(374, 44));
      assertThat(longAnswers.sample(150, r, 32_768)).isEqualTo(new Workload.Shape(4808, 10));
    }
    assertThatThrownBy(() -> TidalDay.OutputHeavy.of("long"))
        .hasMessageContaining("unknown output-heavy class 'long'");
  }

  @Test
  void arrivalsFollowTheRate() {
    SplittableRandom r = new SplittableRandom(2);
    int atPeak = 0;
    int atTrough = 0;
    double t = 0;
    while (t < 600) {
      t += day.nextGap(t, r);
      double phase = (t % 300) / 300;
      if (phase > 0.4 && phase < 0.6) {
        atPeak++;
      } else if (phase < 0.1 || phase > 0.9) {
        atTrough++;
      }
    }
    // equal time spans: 0.4-0.6 of each half-day near its peak, 0.9-0.1 around its troughs
    assertThat((double) atPeak / atTrough).isBetween(2.5, 3.7);
  }

  @Test
  void aDayNeedsAPositiveLengthAndRateAndATroughBelowThePeak() {
    assertThatThrownBy(() -> TidalDay.of(0, 10, 0.2, Path.of(".")))
        .hasMessageContaining("daySeconds > 0");
    assertThatThrownBy(() -> TidalDay.of(60, 10, 1, Path.of(".")))
        .hasMessageContaining("trough in [0, 1)");
  }
}
