package dev.duet.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class KvLayoutTest {

  @Test
  void derivedSizesFollowTheLayerBlockKvSlotLayout() {
    KvLayout layout = new KvLayout(3, 2, 8, 4, 10, KvDtype.F16);

    assertThat(layout.kvDim()).isEqualTo(16);
    assertThat(layout.rowBytes()).isEqualTo(32); // 16 elements * 2 bytes
    assertThat(layout.blockBytes()).isEqualTo(2 * 4 * 32);
    assertThat(layout.layerBytes()).isEqualTo(10 * 256);
    assertThat(layout.totalBytes()).isEqualTo(3 * 2560);
    assertThat(layout.bytesPerToken()).isEqualTo(2 * 3 * 32);
  }

  @Test
  void staticFactoryUsesSixteenTokensPerBlock() {
    KvLayout layout = KvLayout.of(2, 4, 64, 100, KvDtype.F32);

    assertThat(layout.blockSize()).isEqualTo(16);
    assertThat(layout.numBlocks()).isEqualTo(100);
  }

  @Test
  void sizesAboveTwoGigabytesDoNotOverflow() {
    // Llama-3-8B-ish: 32 layers, 8 KV heads of 128, 4096 blocks of 16 tokens, F16.
    KvLayout layout = KvLayout.of(32, 8, 128, 4096, KvDtype.F16);

    assertThat(layout.totalBytes()).isEqualTo(32L * 4096 * 2 * 16 * 8 * 128 * 2);
    assertThat(layout.bytesPerToken()).isEqualTo(131_072L);
  }

  @Test
  void nonPositiveFieldsAreRejectedWithTheFieldNameAndValue() {
    assertThatThrownBy(() -> new KvLayout(0, 1, 1, 1, 1, KvDtype.F32))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("numLayers must be > 0, got 0");
    assertThatThrownBy(() -> new KvLayout(1, -2, 1, 1, 1, KvDtype.F32))
        .hasMessage("numKvHeads must be > 0, got -2");
    assertThatThrownBy(() -> new KvLayout(1, 1, 0, 1, 1, KvDtype.F32))
        .hasMessage("headDim must be > 0, got 0");
    assertThatThrownBy(() -> new KvLayout(1, 1, 1, 0, 1, KvDtype.F32))
        .hasMessage("blockSize must be > 0, got 0");
    assertThatThrownBy(() -> new KvLayout(1, 1, 1, 1, -1, KvDtype.F32))
        .hasMessage("numBlocks must be > 0, got -1");
    assertThatThrownBy(() -> new KvLayout(1, 1, 1, 1, 1, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("dtype");
  }

  @Test
  void aLayoutWhoseSizeOverflowsALongIsRejected() {
    assertThatThrownBy(
            () ->
                new KvLayout(Integer.MAX_VALUE, 65536, 65536, 1024, Integer.MAX_VALUE, KvDtype.F32))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("too large");
  }
}
