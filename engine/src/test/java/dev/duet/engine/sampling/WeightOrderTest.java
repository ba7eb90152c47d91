package dev.duet.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class WeightOrderTest {

  private static int[] expectedOrder(double[] weights) {
    return IntStream.range(0, weights.length)
        .boxed()
        .sorted(Comparator.<Integer>comparingDouble(i -> -weights[i]).thenComparingInt(i -> i))
        .mapToInt(Integer::intValue)
        .toArray();
  }

  /** Weights with many exact ties, zeros and subnormals. */
  private static double[] tiedWeights(Random random, int n) {
    double[] w = new double[n];
    for (int i = 0; i < n; i++) {
      w[i] =
          switch (random.nextInt(4)) {
            case 0 -> 0.0;
            case 1 -> random.nextInt(5) / 4.0;
            case 2 -> Double.MIN_VALUE * random.nextInt(3);
            default -> random.nextDouble();
          };
    }
    return w;
  }

  @Test
  void heapSortOrdersByWeightDescendingThenIdAscending() {
    Random random = new Random(1);
    for (int n : new int[] {0, 1, 2, 3, 17, 500}) {
      double[] w = tiedWeights(random, n);
      int[] ids = IntStream.range(0, n).toArray();
      // Shuffle the input so the heap sort cannot lean on the input order.
      for (int i = n - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        int ti = ids[i];
        ids[i] = ids[j];
        ids[j] = ti;
      }
      double[] shuffledWeights = Arrays.stream(ids).mapToDouble(id -> w[id]).toArray();
      WeightOrder.sort(ids, shuffledWeights, n);
      int[] expected = expectedOrder(w);
      assertThat(ids).isEqualTo(expected);
      double[] expectedWeights = Arrays.stream(expected).mapToDouble(id -> w[id]).toArray();
      assertThat(shuffledWeights).isEqualTo(expectedWeights);
    }
  }

  @Test
  void radixSortOfIdOrderedCandidatesMatchesTheComparatorOrder() {
    Random random = new Random(2);
    WeightOrder order = new WeightOrder();
    for (int n : new int[] {5, 2047, 2048, 10_000, 70_001}) {
      double[] w = tiedWeights(random, n);
      int[] ids = IntStream.range(0, n).map(i -> i * 3).toArray();
      double[] sorted = w.clone();
      order.sortIdOrdered(ids, sorted, n);
      int[] expected = Arrays.stream(expectedOrder(w)).map(i -> i * 3).toArray();
      assertThat(ids).as("n=%d", n).isEqualTo(expected);
      assertThat(sorted).isEqualTo(Arrays.stream(expected).mapToDouble(id -> w[id / 3]).toArray());
    }
  }
}
