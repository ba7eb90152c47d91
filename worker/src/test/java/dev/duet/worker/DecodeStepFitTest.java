package dev.duet.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DecodeStepFitTest {

  @Test
  void aGpuLikePassThatBarelyGrowsWithTheBatchIsFittedAsMostlyFixed() {
    var fit = new DecodeStepFit();
    var random = new SplittableRandom(3);
    for (int i = 0; i < 400; i++) {
      int rows = 1 + random.nextInt(32);
      fit.add(rows, 30 + 0.4 * rows + random.nextDouble(-0.5, 0.5));
    }
    assertThat(fit.fixedMs()).isCloseTo(30, within(1.0));
    assertThat(fit.perRowMs()).isCloseTo(0.4, within(0.05));
  }

  @Test
  void aCpuLikePassProportionalToItsRowsHasNoFixedPart() {
    var fit = new DecodeStepFit();
    for (int i = 0; i < 200; i++) {
      int rows = 1 + i % 8;
      fit.add(rows, 12.0 * rows);
    }
    assertThat(fit.fixedMs()).isCloseTo(0, within(1e-6));
    assertThat(fit.perRowMs()).isCloseTo(12, within(1e-6));
  }

  @Test
  void oneBatchSizeAloneGivesTheCautiousProportionalReadingUntilAnotherIsSeen() {
    var fit = new DecodeStepFit();
    assertThat(fit.perRowMs()).isZero();
    for (int i = 0; i < 50; i++) {
      fit.add(4, 32);
    }
    assertThat(fit.fixedMs()).isZero();
    assertThat(fit.perRowMs()).isCloseTo(8, within(1e-9));
    for (int i = 0; i < 100; i++) {
      fit.add(1 + i % 16, 30 + 0.125 * (1 + i % 16));
    }
    assertThat(fit.fixedMs()).isCloseTo(30, within(0.5));
    // and a long run at one size afterwards keeps the fit
    for (int i = 0; i < 500; i++) {
      fit.add(16, 32);
    }
    assertThat(fit.fixedMs()).isGreaterThan(20);
  }
}
