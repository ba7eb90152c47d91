package dev.duet.kvtransfer.wire;

import dev.duet.kvtransfer.KvTransferException.Reason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/**
 * The kv-transfer meters, tagged by {@code transport} ({@code tcp}, {@code shm}) and {@code side}
 * ({@code writer}, {@code receiver}):
 *
 * <ul>
 *   <li>{@code duet.kv.transfer.bytes}: payload bytes written (writer) or received (receiver)
 *   <li>{@code duet.kv.transfer.transfers}: writes completed
 *   <li>{@code duet.kv.transfer.duration}: writer-side time from issue to completion (histogram)
 *   <li>{@code duet.kv.transfer.errors}: failed writes, also tagged with {@code reason}
 * </ul>
 *
 * Threading: thread-safe (Micrometer meters are).
 */
public final class TransferMetrics {
  private final MeterRegistry registry;

  public TransferMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public void completed(String transport, String side, long bytes, long nanos) {
    Counter.builder("duet.kv.transfer.bytes")
        .baseUnit("bytes")
        .tags("transport", transport, "side", side)
        .register(registry)
        .increment(bytes);
    Counter.builder("duet.kv.transfer.transfers")
        .tags("transport", transport, "side", side)
        .register(registry)
        .increment();
    if (nanos >= 0) {
      Timer.builder("duet.kv.transfer.duration")
          .tags("transport", transport, "side", side)
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofMillis(1))
          .maximumExpectedValue(Duration.ofSeconds(30))
          .register(registry)
          .record(Duration.ofNanos(nanos));
    }
  }

  public void failed(String transport, String side, Reason reason) {
    Counter.builder("duet.kv.transfer.errors")
        .tags("transport", transport, "side", side, "reason", reason.name().toLowerCase())
        .register(registry)
        .increment();
  }
}
