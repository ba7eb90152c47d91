package dev.duet.cli.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkloadTest {

  @TempDir Path dir;

  @Test
  void traceShapesAreCappedToTheContext() throws Exception {
    Path csv = dir.resolve("t.csv");
    Files.writeString(
        csv,
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
            + "2023-11-16 18:15:46.6805900,4808,10\n"
            + "2023-11-16 18:15:50.9951690,100,900\n");
    Workload w = Workload.trace("t", csv);
    assertThat(w.size()).isEqualTo(2);
    SplittableRandom r = new SplittableRandom(1);
    for (int i = 0; i < 50; i++) {
      Workload.Shape s = w.sample(r, 256);
      assertThat(s.promptTokens()).isBetween(1, 128);
      assertThat(s.promptTokens() + s.outputTokens()).isLessThan(256);
      assertThat(s).isIn(new Workload.Shape(128, 10), new Workload.Shape(100, 155));
    }
  }

  @Test
  void aClassOfATraceKeepsTheShapesWhoseLengthIsInItsRange() throws Exception {
    Path csv = dir.resolve("t.csv");
    Files.writeString(
        csv,
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
            + "2023-11-16 18:15:46.6805900,3000,10\n"
            + "2023-11-16 18:15:50.9951690,400,300\n"
            + "2023-11-16 18:15:51.9951690,900,40\n");
    Workload w = Workload.trace("t", csv);
    Workload longAnswers = w.outputs(256, Integer.MAX_VALUE);
    assertThat(longAnswers.size()).isEqualTo(1);
    assertThat(longAnswers.name()).isEqualTo("t (outputs >= 256)");
    assertThat(longAnswers.sample(new SplittableRandom(1), 8192))
        .isEqualTo(new Workload.Shape(400, 300));
    assertThat(w.outputs(1, 40).size()).isEqualTo(2);
    assertThat(w.prompts(1024, Integer.MAX_VALUE).size()).isEqualTo(1);
    assertThatThrownBy(() -> w.outputs(1000, 2000))
        .hasMessageContaining("t (outputs 1000–2000) has no requests");
  }

  @Test
  void percentilesAreNearestRank() {
    Percentiles p = new Percentiles(new double[] {5, 1, 4, 2, 3, 6, 7, 8, 9, 10});
    assertThat(p.at(50)).isEqualTo(5);
    assertThat(p.at(99)).isEqualTo(10);
    assertThat(p.at(10)).isEqualTo(1);
    assertThat(new Percentiles(new double[0]).at(50)).isNaN();
  }
}
