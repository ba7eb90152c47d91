package dev.duet.kvtransfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The values that travel between peers and the configuration: round trips and validation. */
class KvHandlesTest {

  @Test
  void aRegionHandleSurvivesItsStringForm() {
    KvRegion r = new KvRegion(7, 1L << 33, -42L);
    assertThat(KvRegion.decode(r.encode())).isEqualTo(r);
  }

  @Test
  void aRegionHandleKeepsItsAccessKeyOutOfToString() {
    KvRegion r = new KvRegion(7, 4096, 0x1234_5678_9abcL);
    assertThat(r.toString()).contains("id=7").doesNotContain("123456789abc");
  }

  @Test
  void malformedRegionHandlesAreRejectedWithTheInput() {
    assertThatThrownBy(() -> KvRegion.decode("kvr1:1:2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("kvr1:1:2");
    assertThatThrownBy(() -> KvRegion.decode("kvr1:x:2:3"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("kvr1:x:2:3");
    assertThatThrownBy(() -> new KvRegion(1, 0, 0)).hasMessageContaining("length");
  }

  @Test
  void anEndpointSurvivesItsStringFormIncludingColonsInTheHostId() {
    KvEndpoint e = new KvEndpoint("10.0.0.5", 7070, "node-a/1f2e:3d");
    assertThat(KvEndpoint.decode(e.encode())).isEqualTo(e);
    assertThatThrownBy(() -> KvEndpoint.decode("10.0.0.5:x@h")).hasMessageContaining("bad port");
  }

  @Test
  void theLocalHostIdIsStableAndEncodable() {
    String id = KvTransferNode.localHostId();
    assertThat(id).isEqualTo(KvTransferNode.localHostId()).doesNotContain("@");
    assertThat(new KvEndpoint("h", 1, id).hostId()).isEqualTo(id);
  }

  @Test
  void configurationRejectsValuesThatCannotWork() {
    KvTransferConfig d = KvTransferConfig.defaults();
    assertThatThrownBy(() -> d.withFlow(1 << 20, 4 << 20))
        .hasMessageContaining("maxBytesInFlight (1048576) must be at least chunkBytes (4194304)");
    assertThatThrownBy(() -> d.withFlow(2L << 30, 4 << 20)).hasMessageContaining("1 GiB");
    assertThatThrownBy(() -> d.withTimeout(Duration.ZERO)).hasMessageContaining("timeout");
    assertThatThrownBy(() -> d.withName(" ")).hasMessageContaining("name");
    assertThatThrownBy(() -> d.withPeerSilence(Duration.ofMillis(5)))
        .hasMessageContaining("peerSilence must be at least 100 ms, got PT0.005S");
  }

  @Test
  void wireReasonCodesRoundTripAndUnknownCodesReadAsProtocolErrors() {
    for (KvTransferException.Reason r : KvTransferException.Reason.values()) {
      assertThat(KvTransferException.Reason.ofCode(r.code())).isEqualTo(r);
    }
    assertThat(KvTransferException.Reason.ofCode(999))
        .isEqualTo(KvTransferException.Reason.PROTOCOL);
  }
}
