package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyParser;
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
    assertThat(p.planner().intervalSeconds()).isEqualTo(10);
    assertThat(p.planner().predictor().periodSeconds()).isEqualTo(600);
    assertThat(p.slo().tpotMs()).isEqualTo(100);
    assertThat(p.groups()).isEmpty();
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
