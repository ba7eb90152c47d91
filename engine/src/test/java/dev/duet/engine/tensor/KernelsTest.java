package dev.duet.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tiled kernels give, for every output, exactly the bits of the one-row {@link Kernels#dot}, at
 * lengths with and without a scalar tail. Runs on whichever kernels the JVM chose (the build runs
 * it on both).
 */
class KernelsTest {

  private final Kernels k = Kernels.get();

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 16, 33, 64, 100, 128})
  void blockKernelsGiveTheBitsOfOneCallPerRow(int n) {
    SplittableRandom r = new SplittableRandom(31 * n);
    int count = 13;
    long stride = 4L * (n + 5); // rows apart, as keys of one cache block are
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment m = arena.allocate(stride * count + 4L * n, 64);
      for (long i = 0; i < m.byteSize() / 4; i++) {
        m.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) r.nextGaussian());
      }
      float[] x = new float[n + 3];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian();
      }
      float[] dots = new float[count + 2];
      k.dotRows(m, 8, stride, count, x, 3, n, dots, 2);
      float[] a = new float[count + 1];
      for (int j = 0; j < count; j++) {
        assertThat(dots[2 + j]).isEqualTo(k.dot(m, 8 + j * stride, x, 3, n));
        a[1 + j] = (float) r.nextGaussian();
      }
      float[] expected = x.clone();
      for (int j = 0; j < count; j++) {
        k.axpy(a[1 + j], m, 4 + j * stride, expected, 3, n);
      }
      float[] actual = x.clone();
      k.axpyRows(a, 1, count, m, 4, stride, actual, 3, n);
      assertThat(actual).isEqualTo(expected);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 16, 33, 64, 100, 768, 1001})
  void tilesComputeEachOutputExactlyAsOneDotDoes(int n) {
    SplittableRandom r = new SplittableRandom(n);
    try (Arena arena = Arena.ofConfined()) {
      int rows = 4;
      MemorySegment w = arena.allocate(4L * rows * n, 64);
      for (long i = 0; i < (long) rows * n; i++) {
        w.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) r.nextGaussian());
      }
      float[] x = new float[4 * n];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian();
      }
      long stride = 4L * n;
      float[] expected = new float[16];
      for (int b = 0; b < 4; b++) {
        for (int j = 0; j < 4; j++) {
          expected[4 * b + j] = k.dot(w, j * stride, x, b * n, n);
        }
      }
      float[] tile = new float[16];
      k.dot4x4(w, 0, stride, x, 0, n, n, tile, 0, 4);
      assertThat(tile).isEqualTo(expected);

      float[] col = new float[4];
      for (int b = 0; b < 4; b++) {
        k.dot4x1(w, 0, stride, x, b * n, n, col, 0);
        for (int j = 0; j < 4; j++) {
          assertThat(col[j]).isEqualTo(expected[4 * b + j]);
        }
      }
      float[] row = new float[16];
      for (int j = 0; j < 4; j++) {
        k.dot1x4(w, j * stride, x, 0, n, n, row, j, 4);
      }
      assertThat(row).isEqualTo(expected);

      float[] wArray = new float[n];
      MemorySegment.copy(w, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, wArray, 0, n);
      assertThat(k.dot(wArray, 0, x, 0, n)).isEqualTo(expected[0]);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {3, 64, 130})
  void dotIsCloseToTheDoublePrecisionSum(int n) {
    SplittableRandom r = new SplittableRandom(7);
    float[] a = new float[n];
    float[] b = new float[n];
    double exact = 0;
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
      b[i] = (float) r.nextGaussian();
      exact += (double) a[i] * b[i];
    }
    assertThat((double) k.dot(a, 0, b, 0, n))
        .isCloseTo(exact, org.assertj.core.data.Offset.offset(1e-4 * n));
  }

  @Test
  void theChosenKernelsFollowTheVectorProperty() {
    boolean wantVector = !"false".equals(System.getProperty("duet.engine.vector"));
    assertThat(Kernels.vectorized()).isEqualTo(wantVector);
  }
}
