package dev.duet.kvtransfer.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.kvtransfer.KvRegion;
import dev.duet.kvtransfer.KvTransferException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Coalescing of scatter lists into runs and the local bounds check. */
class WritePlanTest {
  final Arena arena = Arena.ofConfined();
  final MemorySegment src = arena.allocate(1 << 20);
  final KvRegion region = new KvRegion(1, 1 << 20, 99);

  @AfterEach
  void free() {
    arena.close();
  }

  @Test
  void slicesAdjacentInMemoryAndAtTheTargetBecomeOneRun() {
    // 32 "layers" of one sequence, contiguous in the pool and in the target region
    List<MemorySegment> layers =
        java.util.stream.IntStream.range(0, 32)
            .mapToObj(l -> src.asSlice(l * 4096L, 4096))
            .toList();
    long[] offsets = java.util.stream.LongStream.range(0, 32).map(l -> 8192 + l * 4096).toArray();
    WritePlan plan = WritePlan.of(layers, region, offsets);
    assertThat(plan.runs()).hasSize(1);
    assertThat(plan.runs().getFirst().remoteOffset()).isEqualTo(8192);
    assertThat(plan.runs().getFirst().length()).isEqualTo(32 * 4096);
    assertThat(plan.bytes()).isEqualTo(32 * 4096);
    assertThat(plan.chunks(64 << 10)).isEqualTo(2);
  }

  @Test
  void aGapOnEitherSideKeepsRunsApart() {
    List<MemorySegment> s =
        List.of(src.asSlice(0, 100), src.asSlice(100, 100), src.asSlice(300, 100));
    WritePlan localGap = WritePlan.of(s, region, new long[] {0, 100, 200});
    assertThat(localGap.runs()).extracting(WritePlan.Run::length).containsExactly(200L, 100L);
    WritePlan remoteGap = WritePlan.of(s.subList(0, 2), region, new long[] {0, 101});
    assertThat(remoteGap.runs()).hasSize(2);
  }

  @Test
  void addressAdjacentSlicesOfDifferentScopesAreNeverMerged() {
    MemorySegment a = src.asSlice(0, 64);
    MemorySegment b = MemorySegment.ofAddress(src.address() + 64).reinterpret(64); // global scope
    WritePlan plan = WritePlan.of(List.of(a, b), region, new long[] {0, 64});
    assertThat(plan.runs()).hasSize(2);
  }

  @Test
  void emptySlicesAreSkipped() {
    WritePlan plan = WritePlan.of(List.of(src.asSlice(0, 0)), region, new long[] {5});
    assertThat(plan.runs()).isEmpty();
    assertThat(plan.bytes()).isZero();
  }

  @Test
  void aSliceOutsideTheRegionIsRejectedBeforeAnythingIsSent() {
    assertThatThrownBy(
            () ->
                WritePlan.of(List.of(src.asSlice(0, 4096)), region, new long[] {(1 << 20) - 4095}))
        .isInstanceOf(KvTransferException.class)
        .hasMessageContaining("slice 0 (4096 bytes at offset 1044481) does not fit region 1");
    assertThatThrownBy(() -> WritePlan.of(List.of(src), region, new long[] {-1}))
        .isInstanceOf(KvTransferException.class);
    assertThatThrownBy(() -> WritePlan.of(List.of(src), region, new long[] {0, 1}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 local slices but 2 remote offsets");
  }
}
