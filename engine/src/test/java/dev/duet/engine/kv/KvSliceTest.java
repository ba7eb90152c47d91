package dev.duet.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class KvSliceTest {

  @Test
  void coalesceMergesSlicesThatFollowEachOtherInTheList() {
    List<KvSlice> in =
        List.of(new KvSlice(0, 10), new KvSlice(10, 5), new KvSlice(15, 1), new KvSlice(40, 8));

    assertThat(KvSlice.coalesce(in)).containsExactly(new KvSlice(0, 16), new KvSlice(40, 8));
  }

  @Test
  void coalesceKeepsListOrderAndDoesNotMergeAcrossIt() {
    // Adjacent in memory but not in stream order: merging would reorder the bytes.
    List<KvSlice> in = List.of(new KvSlice(10, 10), new KvSlice(0, 10), new KvSlice(20, 4));

    assertThat(KvSlice.coalesce(in)).containsExactlyElementsOf(in);
  }

  @Test
  void coalesceOfNothingIsNothing() {
    assertThat(KvSlice.coalesce(List.of())).isEmpty();
  }

  @Test
  void negativeOffsetsAndEmptyLengthsAreRejected() {
    assertThatThrownBy(() -> new KvSlice(-1, 4)).hasMessage("offset must be >= 0, got -1");
    assertThatThrownBy(() -> new KvSlice(0, 0)).hasMessage("length must be > 0, got 0");
  }
}
