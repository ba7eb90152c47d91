package dev.duet.engine.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SyntheticModelTest {

  @Test
  void presetsHaveTheDocumentedShapes() {
    SyntheticModel tiny = SyntheticModel.preset("tiny");
    assertThat(tiny)
        .extracting(
            SyntheticModel::dim,
            SyntheticModel::nLayers,
            SyntheticModel::nHeads,
            SyntheticModel::nKvHeads,
            SyntheticModel::hiddenDim,
            SyntheticModel::vocabSize,
            SyntheticModel::contextLength)
        .containsExactly(64, 2, 4, 2, 160, 320, 256);
    assertThat(tiny.headDim()).isEqualTo(16);
    assertThat(tiny.kvDim()).isEqualTo(32);
    assertThat(tiny.tiedEmbeddings()).isFalse();

    SyntheticModel small = SyntheticModel.preset("small");
    assertThat(small.dim()).isEqualTo(288);
    assertThat(small.nLayers()).isEqualTo(6);
    assertThat(small.vocabSize()).isEqualTo(32000);
    assertThat(small.hiddenDim()).isEqualTo(768);

    SyntheticModel big = SyntheticModel.preset("llama-110m");
    assertThat(big.dim()).isEqualTo(768);
    assertThat(big.nLayers()).isEqualTo(12);
    assertThat(big.hiddenDim()).isEqualTo(2048);
    assertThat(big.contextLength()).isEqualTo(1024);
    long perLayer = 2 * 768 + 4 * 768 * 768 + 3 * 768 * 2048;
    // Tied like llama2.c's stories110M, so the preset really has 110M parameters.
    assertThat(big.tiedEmbeddings()).isTrue();
    assertThat(big.parameterCount())
        .isEqualTo(12 * perLayer + 768 * 32000 + 768)
        .isBetween(105_000_000L, 115_000_000L);
    assertThat(big.withTiedEmbeddings(false).parameterCount())
        .isEqualTo(12 * perLayer + 2 * 768 * 32000 + 768);

    SyntheticModel gqa = SyntheticModel.preset("gqa");
    assertThat(gqa.nHeads()).isEqualTo(8);
    assertThat(gqa.nKvHeads()).isEqualTo(2);
    assertThat(gqa.kvDim()).isEqualTo(32);
    SyntheticModel qwen = SyntheticModel.preset("qwen-tiny");
    assertThat(qwen.qkvBias()).isTrue();
    assertThat(qwen.architecture()).isEqualTo("qwen2");
    assertThat(qwen.parameterCount())
        .isEqualTo(tiny.withTiedEmbeddings(true).parameterCount() + 2 * (64 + 2 * 32));
    assertThat(SyntheticModel.presetNames())
        .containsExactly("tiny", "small", "llama-110m", "gqa", "qwen-tiny");
  }

  @Test
  void anUnknownPresetListsTheKnownOnes() {
    assertThatThrownBy(() -> SyntheticModel.preset("huge"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("huge")
        .hasMessageContaining("tiny, small, llama-110m, gqa, qwen-tiny");
  }

  @Test
  void tyingEmbeddingsKeepsTheRestOfTheShape() {
    SyntheticModel tied = SyntheticModel.preset("tiny").withTiedEmbeddings(true);
    assertThat(tied.tiedEmbeddings()).isTrue();
    assertThat(tied.withTiedEmbeddings(false)).isEqualTo(SyntheticModel.preset("tiny"));
  }

  private static SyntheticModel shape(
      int dim, int layers, int heads, int kvHeads, int hidden, int vocab) {
    return new SyntheticModel(
        "x", dim, layers, heads, kvHeads, hidden, vocab, 256, 1e4f, 1e-5f, false, false);
  }

  @Test
  void rejectsShapesAForwardPassCouldNotRun() {
    assertThatThrownBy(() -> shape(64, 2, 5, 5, 160, 320)).hasMessageContaining("heads");
    assertThatThrownBy(() -> shape(64, 2, 4, 3, 160, 320)).hasMessageContaining("nKvHeads");
    assertThatThrownBy(() -> shape(64, 2, 4, 2, 160, 100)).hasMessageContaining("vocabSize");
    assertThatThrownBy(() -> shape(64, 0, 4, 2, 160, 320)).hasMessageContaining("nLayers");
  }
}
