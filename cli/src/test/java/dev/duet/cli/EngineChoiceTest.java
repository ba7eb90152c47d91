package dev.duet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.model.Model;
import dev.duet.engine.sim.SimModel;
import org.junit.jupiter.api.Test;

class EngineChoiceTest {

  private static EngineChoice choice(String engine, String profile, Integer kvScale) {
    EngineChoice c = new EngineChoice();
    c.engine = engine;
    c.profile = profile;
    c.kvScale = kvScale;
    c.speedup = 1;
    return c;
  }

  @Test
  void simWithAProfileBecomesASimModelSpec() throws Exception {
    String spec = choice("sim", "h100-llama3-8b", null).modelSpec(null, 16);
    assertThat(spec).isEqualTo("sim:h100-llama3-8b:16:1.0");
    try (Model m = ModelLoader.load(spec, null)) {
      assertThat(m).isInstanceOf(SimModel.class);
      assertThat(((SimModel) m).kvScale()).isEqualTo(16);
      assertThat(m.config().headDim()).isEqualTo(8);
    }
    assertThat(choice("sim", "h100-llama3-8b", 2).modelSpec(null, 16)).contains(":2:");
  }

  @Test
  void cpuKeepsTheModelArgument() {
    assertThat(choice("cpu", null, null).modelSpec("synth:tiny")).isEqualTo("synth:tiny");
  }

  @Test
  void mismatchedOptionsAreRefusedWithTheFlagToFix() {
    assertThatThrownBy(() -> choice("sim", null, null).modelSpec(null))
        .hasMessageContaining("--profile");
    assertThatThrownBy(() -> choice("sim", "h100-llama3-8b", null).modelSpec("x.gguf"))
        .hasMessageContaining("--model x.gguf");
    assertThatThrownBy(() -> choice("cpu", "h100-llama3-8b", null).modelSpec("x.gguf"))
        .hasMessageContaining("--engine sim");
    assertThatThrownBy(() -> choice("gpu", null, null).modelSpec("x.gguf"))
        .hasMessageContaining("--engine must be cpu or sim, not gpu");
    assertThatThrownBy(() -> ModelLoader.load("sim:h100-llama3-8b:x", null))
        .hasMessageContaining("sim:PROFILE[:KV_SCALE[:SPEEDUP]]");
    assertThatThrownBy(() -> ModelLoader.load("sim:nope", null))
        .hasMessageContaining("unknown sim profile 'nope'");
  }
}
