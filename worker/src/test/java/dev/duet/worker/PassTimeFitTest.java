package dev.duet.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PassTimeFitTest {

  @Test
  void aGpuLikePassThatBarelyGrowsWithTheBatchIsFittedAsMostlyFixed() {
    var fit = new PassTimeFit();
    var random = new SplittableRandom(3);
    for (int i = 0; i < 400; i++) {
      int rows = 1 + random.nextInt(32);
      fit.add(rows, 30 + 0.4 * rows + random.nextDouble(-0.5, 0.5));
    }
    assertThat(fit.fixedMs()).isCloseTo(30, within(1.0));
    assertThat(fit.perUnitMs()).isCloseTo(0.4, within(0.05));
  }

  @Test
  void aCpuLikePassProportionalToItsRowsHasNoFixedPart() {
    var fit = new PassTimeFit();
    for (int i = 0; i < 200; i++) {
      int rows = 1 + i % 8;
      fit.add(rows, 12.0 * rows);
    }
    assertThat(fit.fixedMs()).isCloseTo(0, within(1e-6));
    assertThat(fit.perUnitMs()).isCloseTo(12, within(1e-6));
  }

  @Test
  void oneBatchSizeAloneGivesTheCautiousProportionalReadingUntilAnotherIsSeen() {
    var fit = new PassTimeFit();
    assertThat(fit.perUnitMs()).isZero();
    for (int i = 0; i < 50; i++) {
      fit.add(4, 32);
    }
    assertThat(fit.fixedMs()).isZero();
    assertThat(fit.perUnitMs()).isCloseTo(8, within(1e-9));
    assertThat(fit.separated()).isFalse();
    for (int i = 0; i < 100; i++) {
      fit.add(1 + i % 16, 30 + 0.125 * (1 + i % 16));
    }
    assertThat(fit.fixedMs()).isCloseTo(30, within(0.5));
    assertThat(fit.separated()).isTrue();
    // and a long run at one size afterwards keeps the fit
    for (int i = 0; i < 500; i++) {
      fit.add(16, 32);
    }
    assertThat(fit.fixedMs()).isGreaterThan(20);
  }

  @Test
  void noisyPassesOfADriftingBatchAreFittedCloseToTheTruePassTime() {
    // a sim-like decode instance: 30 ms + 0.5 ms a row, each pass up to 12 ms late (a busy CPU)
    // or off by its streams' contexts; the batch ramps from 4 to 60 and then sits near 40
    var fit = new PassTimeFit();
    var random = new SplittableRandom(7);
    for (int i = 0; i < 6000; i++) {
      int rows = i < 2000 ? 4 + i * 56 / 2000 : 38 + random.nextInt(5);
      double ms = 30 + 0.5 * rows * random.nextDouble(0.8, 1.2) + random.nextDouble(0, 12);
      fit.add(rows, ms);
      if (i > 500 && i % 100 == 0) {
        assertThat(fit.perUnitMs()).as("pass %d", i).isBetween(0.35, 0.65);
        assertThat(fit.ms(40)).as("pass %d", i).isBetween(50.0 - 2, 56.0 + 2);
      }
    }
  }
}
