package dev.duet.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.sim.LatencyProfile.Coefficients;
import dev.duet.engine.sim.LatencyProfile.Geometry;
import org.junit.jupiter.api.Test;

class LatencyProfileTest {

  private static final LatencyProfile P =
      new LatencyProfile(
          "t",
          new Coefficients(5, 0.1, 0.001),
          new Coefficients(4, 0.5, 0.01),
          new Geometry(2, 4, 2, 8, 32, 64, KvDtype.F32, 1000, 256));

  @Test
  void prefillIsQuadraticInThePromptLength() {
    assertThat(P.prefillMs(100)).isCloseTo(5 + 10 + 10, within(1e-9));
    assertThat(P.prefillMs(0)).isZero();
  }

  @Test
  void decodeIsLinearInTheBatchAndTheSummedContext() {
    assertThat(P.decodeMs(4, 1000)).isCloseTo(4 + 2 + 10, within(1e-9));
  }

  @Test
  void aMixedPassPaysTheLargerFixedCostOnce() {
    // 10 prompt tokens after 20 cached: pairs = 30² - 20² = 500.
    assertThat(P.stepMs(10, 500, 2, 300)).isCloseTo(5 + 1 + 0.5 + 1 + 3, within(1e-9));
  }

  @Test
  void chunkingAPromptAddsOnlyFixedCosts() {
    double whole = P.prefillMs(100);
    double chunked = P.stepMs(40, 40L * 40, 0, 0) + P.stepMs(60, 100L * 100 - 40L * 40, 0, 0);
    assertThat(chunked - whole).isCloseTo(5, within(1e-9));
  }

  @Test
  void theH100ProfileHasLlama3KvOf128KibPerToken() {
    assertThat(SimProfiles.named("h100-llama3-8b").geometry().kvBytesPerToken())
        .isEqualTo(128 * 1024);
  }

  @Test
  void badCoefficientsAndUnknownProfilesAreRefusedByName() {
    assertThatThrownBy(() -> new Coefficients(-1, 0, 0)).hasMessageContaining("a must be");
    assertThatThrownBy(() -> new Coefficients(0, Double.NaN, 0)).hasMessageContaining("b must be");
    assertThatThrownBy(() -> SimProfiles.named("a100-gpt5"))
        .hasMessageContaining("a100-gpt5")
        .hasMessageContaining("h100-llama3-8b");
    assertThatThrownBy(() -> new Geometry(2, 3, 2, 8, 32, 64, KvDtype.F32, 1000, 256))
        .hasMessageContaining("heads (3)");
  }
}
