package dev.duet.kvtransfer.wire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.duet.kvtransfer.KvRegion;
import dev.duet.kvtransfer.KvTransferException.Reason;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The receiver's checks on every incoming write, and channel authentication. */
class RegionTableTest {
  final RegionTable table = new RegionTable();
  final MemorySegment memory = Arena.ofAuto().allocate(4096);
  final KvRegion region = table.register(memory, null, 0);

  @Test
  void aWriteWithTheRightKeyInsideTheRegionIsAccepted() {
    assertThat(table.check(region.id(), region.accessKey(), 4000, 96))
        .isInstanceOf(RegionTable.Entry.class);
  }

  @Test
  void unknownRegionsWrongKeysAndOutOfBoundsWritesAreRejectedWithTheirReason() {
    assertThat(table.check(region.id() + 1, region.accessKey(), 0, 1))
        .isEqualTo(
            new RegionTable.Rejection(
                Reason.UNKNOWN_REGION, "no region " + (region.id() + 1) + " is registered"));
    assertThat(
            ((RegionTable.Rejection) table.check(region.id(), ~region.accessKey(), 0, 1)).reason())
        .isEqualTo(Reason.BAD_ACCESS_KEY);
    assertThat(((RegionTable.Rejection) table.check(region.id(), region.accessKey(), 4000, 97)))
        .extracting(RegionTable.Rejection::reason)
        .isEqualTo(Reason.OUT_OF_BOUNDS);
    assertThat(table.check(region.id(), region.accessKey(), Long.MAX_VALUE, 2))
        .isInstanceOf(RegionTable.Rejection.class);
  }

  @Test
  void aDeregisteredRegionIsUnknown() {
    assertThat(table.deregister(region)).isTrue();
    assertThat(table.deregister(region)).isFalse();
    assertThat(
            ((RegionTable.Rejection) table.check(region.id(), region.accessKey(), 0, 1)).reason())
        .isEqualTo(Reason.UNKNOWN_REGION);
  }

  @Test
  void regionsGetDistinctIdsAndKeys() {
    KvRegion other = table.register(memory.asSlice(0, 16), null, 0);
    assertThat(other.id()).isNotEqualTo(region.id());
    assertThat(other.accessKey()).isNotEqualTo(region.accessKey());
  }

  @Test
  void theHandshakeAcceptsOnlyTheRightSecret() {
    byte[] nonce = new byte[Wire.NONCE_BYTES];
    nonce[3] = 9;
    Optional<String> secret = Optional.of("s3cret");
    assertThat(Handshake.accepts(secret, nonce, Handshake.answer(secret, nonce))).isTrue();
    assertThat(Handshake.accepts(secret, nonce, Handshake.answer(Optional.of("other"), nonce)))
        .isFalse();
    assertThat(Handshake.accepts(secret, nonce, Handshake.answer(Optional.empty(), nonce)))
        .isFalse();
    assertThat(Handshake.accepts(Optional.empty(), nonce, new byte[Wire.MAC_BYTES])).isTrue();
  }
}
