package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.duet.cli.load.TidalLoad;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyParser;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The policy {@code duet bench tidal} gives its planner run: valid, and scaled to the day. */
class BenchTidalCommandTest {

  @Test
  void thePlannersPolicyIsValidWithTheDayAsItsPeriodAndASixtiethOfItAsItsInterval()
      throws Exception {
    BenchTidalCommand c = new BenchTidalCommand();
    c.minutes = 10;
    c.workers = 8;
    c.sloTtftMs = 2000;
    c.sloTpotMs = 100;

    Policy p = PolicyParser.parse(c.policy());

    assertThat(p.budget().maxInstances()).isEqualTo(8);
    assertThat(p.budget().fixed()).as("flips only, like the static runs' fixed instances").isTrue();
    assertThat(p.planner().intervalSeconds()).isEqualTo(10);
    assertThat(p.planner().predictor().periodSeconds()).isEqualTo(600);
    assertThat(p.slo().tpotMs()).isEqualTo(100);
    assertThat(p.admission().ttftBudgetMs()).as("the TTFT SLO").isEqualTo(2000);
    c.admissionMs = 10_000;
    assertThat(PolicyParser.parse(c.policy()).admission().ttftBudgetMs()).isEqualTo(10_000);
    assertThat(p.groups()).isEmpty();
  }

  @Test
  void goodputIsTheInterpolatedPeakRateWhereAttainmentCrossesTheGoal() {
    BenchTidalCommand c = new BenchTidalCommand();
    c.attainment = 0.9;
    List<BenchTidalCommand.Run> runs =
        List.of(run("a", 6, 20), run("a", 9, 19), run("a", 12, 14), run("b", 6, 17));
    // a: 95% at 9, 70% at 12 → 9 + 3 · (0.95 − 0.9) / (0.95 − 0.7) = 9.6
    assertThat(c.goodput("a", runs).value()).isCloseTo(9.6, within(1e-9));
    assertThat(c.goodput("a", runs).open()).isFalse();
    // one rate only: requests within both SLOs per second of the day
    assertThat(c.goodput("b", runs).value()).isCloseTo(17 / 60.0, within(1e-9));
    List<BenchTidalCommand.Run> always = List.of(run("c", 6, 20), run("c", 9, 20));
    assertThat(c.goodput("c", always).value()).isEqualTo(9);
    assertThat(c.goodput("c", always).open()).isTrue();
    List<BenchTidalCommand.Run> never = List.of(run("d", 6, 10), run("d", 9, 20));
    assertThat(c.goodput("d", never).value()).isZero();
  }

  /** A day of 20 requests at {@code peak}, {@code good} of them within a 100 ms TTFT SLO. */
  private static BenchTidalCommand.Run run(String name, double peak, int good) {
    List<TidalLoad.Request> requests = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      requests.add(new TidalLoad.Request(i, 10, 10, true, i < good ? 50 : 500, 10, ""));
    }
    return new BenchTidalCommand.Run(name, peak, requests, List.of(), 0, 60, 100, 100);
  }

  @Test
  void aShortDayStillPlansEveryFiveSeconds() throws Exception {
    BenchTidalCommand c = new BenchTidalCommand();
    c.minutes = 1;
    c.workers = 4;
    c.sloTtftMs = 2000;
    c.sloTpotMs = 100;

    assertThat(PolicyParser.parse(c.policy()).planner().intervalSeconds()).isEqualTo(5);
  }
}
