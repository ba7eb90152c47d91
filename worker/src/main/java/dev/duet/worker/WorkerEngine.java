package dev.duet.worker;

import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.kv.KvLayout;
import dev.duet.engine.model.Model;
import dev.duet.kvtransfer.KvTransferConfig;
import dev.duet.kvtransfer.KvTransferNode;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;

/**
 * A worker's engine for its role: role {@code both} gets a plain engine; {@code prefill} a plain
 * engine plus a kv-transfer node to write KV out; {@code decode} an engine whose KV pool lives in
 * memory its kv-transfer node allocates and registers, so prefill instances write into it.
 *
 * @param engine the engine
 * @param kv the KV handoff, or null for role both
 */
public record WorkerEngine(InferenceEngine engine, KvHandoff kv) implements AutoCloseable {

  /**
   * @param role {@code both}, {@code prefill} or {@code decode}
   * @param kvBlocks KV blocks in the pool
   * @param meters where the kv-transfer node records its metrics
   * @throws IllegalArgumentException for another role
   */
  public static WorkerEngine create(Model model, String role, int kvBlocks, MeterRegistry meters) {
    switch (role.toLowerCase(Locale.ROOT)) {
      case "both" -> {
        return new WorkerEngine(plain(model, kvBlocks), null);
      }
      case "prefill" -> {
        InferenceEngine engine = plain(model, kvBlocks);
        return new WorkerEngine(
            engine,
            KvHandoff.prefillSide(
                KvTransferNode.start(KvTransferConfig.defaults(), meters), engine.cache()));
      }
      case "decode" -> {
        var c = model.config();
        KvHandoff kv =
            KvHandoff.decodeSide(
                KvTransferNode.start(KvTransferConfig.defaults(), meters),
                KvLayout.of(c.nLayers(), c.nKvHeads(), c.headDim(), kvBlocks, model.kvDtype()));
        return new WorkerEngine(new InferenceEngine(model, kv.pool()), kv);
      }
      default ->
          throw new IllegalArgumentException("--role must be prefill, decode or both, not " + role);
    }
  }

  private static InferenceEngine plain(Model model, int kvBlocks) {
    return InferenceEngine.create(
        model, EngineOptions.defaults().withKvBlocks(kvBlocks).withKvDtype(model.kvDtype()));
  }

  /** Closes the engine, then the transfer node (which unmaps a decode pool's memory). */
  @Override
  public void close() {
    engine.close();
    if (kv != null) {
      kv.close();
    }
  }
}
