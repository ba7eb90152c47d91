package dev.duet.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KvCachePoolRowsTest {

  // 3 layers, kvDim = 2 heads * 4 = 8, 4 tokens per block, 6 blocks.
  private static KvLayout layout(KvDtype dtype) {
    return new KvLayout(3, 2, 4, 4, 6, dtype);
  }

  @Test
  void offsetsFollowTheLayerBlockKvSlotLayout() {
    KvLayout layout = layout(KvDtype.F32);
    try (KvCachePool pool = new KvCachePool(layout)) {
      long row = layout.rowBytes(); // 32
      long block = layout.blockBytes(); // 256
      long layer = layout.layerBytes(); // 1536

      assertThat(pool.segment().byteSize()).isEqualTo(layout.totalBytes());
      assertThat(pool.segment().address() % 64).isZero();
      assertThat(pool.blockOffset(2, 5)).isEqualTo(2 * layer + 5 * block);
      assertThat(pool.keyOffset(1, 3, 2)).isEqualTo(layer + 3 * block + 2 * row);
      assertThat(pool.valueOffset(1, 3, 2)).isEqualTo(layer + 3 * block + (4 + 2) * row);
      assertThat(pool.valueOffset(2, 5, 3) + row).isEqualTo(layout.totalBytes());
      assertThatThrownBy(() -> pool.keyOffset(3, 0, 0))
          .isInstanceOf(IndexOutOfBoundsException.class);
      assertThatThrownBy(() -> pool.keyOffset(0, 6, 0))
          .isInstanceOf(IndexOutOfBoundsException.class);
      assertThatThrownBy(() -> pool.keyOffset(0, 0, 4))
          .isInstanceOf(IndexOutOfBoundsException.class);
    }
  }

  @Test
  void aNewPoolIsZeroed() {
    try (KvCachePool pool = new KvCachePool(layout(KvDtype.BF16))) {
      float[] row = new float[8];
      Arrays.fill(row, 7f);
      pool.loadRow(pool.valueOffset(2, 5, 3), row, 0, 8);
      assertThat(row).containsOnly(0f);
    }
  }

  @ParameterizedTest
  @EnumSource(KvDtype.class)
  void rowsWrittenAtEveryLayerAndPositionReadBackWithoutOverlap(KvDtype dtype) {
    KvLayout layout = layout(dtype);
    int kvDim = layout.kvDim();
    try (KvCachePool pool = new KvCachePool(layout)) {
      KvSequence filler = pool.newSequence();
      filler.reserve(4); // block 0, so the sequence does not start at offset 0
      KvSequence seq = pool.newSequence();
      seq.reserve(14); // 4 blocks, last one partial
      seq.setLength(14);

      for (int layer = 0; layer < layout.numLayers(); layer++) {
        for (int pos = 0; pos < 14; pos++) {
          pool.storeRow(seq.keyOffset(layer, pos), rowValues(layer, pos, 0, kvDim), 0, kvDim);
          pool.storeRow(seq.valueOffset(layer, pos), rowValues(layer, pos, 1, kvDim), 0, kvDim);
        }
      }

      float[] got = new float[kvDim + 2];
      for (int layer = 0; layer < layout.numLayers(); layer++) {
        for (int pos = 0; pos < 14; pos++) {
          for (int kv = 0; kv < 2; kv++) {
            long offset = kv == 0 ? seq.keyOffset(layer, pos) : seq.valueOffset(layer, pos);
            pool.loadRow(offset, got, 1, kvDim);
            float[] want = rowValues(layer, pos, kv, kvDim);
            for (int i = 0; i < kvDim; i++) {
              assertThat(got[1 + i])
                  .as("%s layer %d pos %d %s elem %d", dtype, layer, pos, kv == 0 ? "K" : "V", i)
                  .isEqualTo(want[i]); // exact in every dtype
            }
          }
        }
      }
      // The filler's block was never written.
      float[] zero = new float[kvDim];
      pool.loadRow(filler.keyOffset(1, 2), zero, 0, kvDim);
      assertThat(zero).containsOnly(0f);
    }
  }

  @ParameterizedTest
  @EnumSource(KvDtype.class)
  void randomValuesRoundTripToTheIndependentlyConvertedValue(KvDtype dtype) {
    SplittableRandom random = new SplittableRandom(7);
    try (KvCachePool pool = new KvCachePool(layout(dtype))) {
      int n = 8 * 4; // a whole K part of one block
      float[] src = new float[n];
      for (int i = 0; i < n; i++) {
        src[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-6, 6)));
      }
      src[0] = Float.NaN;
      src[1] = Float.NEGATIVE_INFINITY;
      src[2] = -0.0f;
      pool.storeRow(pool.keyOffset(1, 2, 0), src, 0, n);
      float[] got = new float[n];
      pool.loadRow(pool.keyOffset(1, 2, 0), got, 0, n);

      for (int i = 0; i < n; i++) {
        float want = roundTrip(dtype, src[i]);
        assertThat(Float.floatToIntBits(got[i]))
            .as("%s of %s", dtype, src[i])
            .isEqualTo(Float.floatToIntBits(want));
      }
    }
  }

  @Test
  void valuesAreStoredLittleEndian() {
    try (KvCachePool f32 = new KvCachePool(layout(KvDtype.F32));
        KvCachePool f16 = new KvCachePool(layout(KvDtype.F16));
        KvCachePool bf16 = new KvCachePool(layout(KvDtype.BF16))) {
      float[] one = {1.0f, -2.0f};
      f32.storeRow(8, one, 0, 2);
      f16.storeRow(8, one, 0, 2);
      bf16.storeRow(8, one, 0, 2);

      assertThat(f32.segment().asSlice(8, 8).toArray(ValueLayout.JAVA_BYTE))
          .containsExactly(0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, (byte) 0xc0);
      assertThat(f16.segment().asSlice(8, 4).toArray(ValueLayout.JAVA_BYTE))
          .containsExactly(0x00, 0x3c, 0x00, (byte) 0xc0);
      assertThat(bf16.segment().asSlice(8, 4).toArray(ValueLayout.JAVA_BYTE))
          .containsExactly(0x80, 0x3f, 0x00, (byte) 0xc0);
    }
  }

  @Test
  void bf16RowsRoundToNearestEven() {
    try (KvCachePool pool = new KvCachePool(layout(KvDtype.BF16))) {
      float[] src = {1.0f, 1.00390625f, 1.01171875f, -1.01171875f, Float.POSITIVE_INFINITY};
      pool.storeRow(0, src, 0, src.length);
      float[] got = new float[src.length];
      pool.loadRow(0, got, 0, src.length);

      assertThat(got).containsExactly(1.0f, 1.0f, 1.015625f, -1.015625f, Float.POSITIVE_INFINITY);
    }
  }

  @Test
  void rowAccessOutsideTheArrayOrThePoolThrows() {
    KvLayout layout = layout(KvDtype.F16);
    try (KvCachePool pool = new KvCachePool(layout)) {
      float[] row = new float[8];
      assertThatThrownBy(() -> pool.storeRow(0, row, 4, 8))
          .isInstanceOf(IndexOutOfBoundsException.class);
      assertThatThrownBy(() -> pool.loadRow(layout.totalBytes() - 8, row, 0, 8))
          .isInstanceOf(IndexOutOfBoundsException.class);
    }
  }

  @Test
  void dataAccessAfterCloseThrows() {
    KvCachePool pool = new KvCachePool(layout(KvDtype.F32));
    pool.close();
    pool.close(); // idempotent

    assertThatThrownBy(() -> pool.loadRow(0, new float[8], 0, 8))
        .isInstanceOf(IllegalStateException.class);
  }

  /**
   * Values distinct for every (layer, pos, K/V, element) and exact in F16 and BF16: an 8-bit
   * significand in [128, 255] times a power of two, so an overlapping write cannot go unseen.
   */
  private static float[] rowValues(int layer, int pos, int kv, int kvDim) {
    float[] row = new float[kvDim];
    for (int i = 0; i < kvDim; i++) {
      int index = ((layer * 16 + pos) * 2 + kv) * kvDim + i; // < 768
      float magnitude = Math.scalb((float) (128 + index % 128), index / 128 - 4);
      row[i] = i % 2 == 0 ? magnitude : -magnitude;
    }
    return row;
  }

  private static float roundTrip(KvDtype dtype, float value) {
    if (!Float.isFinite(value)) {
      return value; // NaN and infinities survive every dtype
    }
    return switch (dtype) {
      case F32 -> value;
      case F16 -> Float.float16ToFloat(Float.floatToFloat16(value));
      case BF16 -> Float.intBitsToFloat((Bf16Test.referenceBf16(value) & 0xffff) << 16);
    };
  }

  @Test
  void aPoolOverCallerMemoryWritesIntoItAndLeavesItOpen() {
    KvLayout layout = KvLayout.of(2, 1, 8, 4, KvDtype.F32);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment memory = arena.allocate(layout.totalBytes() + 64, 64);
      KvCachePool pool = new KvCachePool(layout, memory);
      KvSequence seq = pool.newSequence();
      seq.reserve(1);
      float[] row = {1, 2, 3, 4, 5, 6, 7, 8};
      pool.storeRow(seq.keyOffset(1, 0), row, 0, 8);
      pool.close();
      // The caller's memory holds the row and is still usable after the pool closed.
      assertThat(memory.get(ValueLayout.JAVA_FLOAT_UNALIGNED, seq.keyOffset(1, 0) + 4))
          .isEqualTo(2f);
      assertThatThrownBy(() -> new KvCachePool(layout, memory.asSlice(0, layout.totalBytes() - 1)))
          .hasMessageContaining("needs");
      assertThatThrownBy(() -> new KvCachePool(layout, memory.asSlice(4, layout.totalBytes())))
          .hasMessageContaining("aligned");
    }
  }
}
