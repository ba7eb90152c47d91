package dev.duet.worker;

import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.kv.KvLayout;
import dev.duet.engine.model.Model;
import dev.duet.kvtransfer.KvTransferConfig;
import dev.duet.kvtransfer.KvTransferNode;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * A worker's engine for its role: role {@code both} gets a plain engine and no KV handoff; {@code
 * prefill} and {@code decode} both get an engine whose KV pool lives in memory its kv-transfer node
 * allocates and registers, and a handoff that can both write KV out (prefill) and take KV in
 * (decode): so either can {@linkplain WorkerRole flip} to the other in place, weights and pool
 * kept.
 *
 * @param engine the engine
 * @param kv the KV handoff, or null for role both
 * @param role the worker's role, which a prefill or decode worker may flip
 */
public record WorkerEngine(InferenceEngine engine, KvHandoff kv, WorkerRole role)
    implements AutoCloseable {

  /**
   * @param role {@code both}, {@code prefill} or {@code decode}
   * @param kvBlocks KV blocks in the pool
   * @param meters where the kv-transfer node records its metrics
   * @throws IllegalArgumentException for another role
   */
  public static WorkerEngine create(Model model, String role, int kvBlocks, MeterRegistry meters) {
    String r;
    try {
      r = WorkerRole.parse(role, true);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--role must be prefill, decode or both, not " + role, e);
    }
    if (r.equals("both")) {
      return new WorkerEngine(plain(model, kvBlocks), null, new WorkerRole(r));
    }
    var c = model.config();
    KvHandoff kv =
        KvHandoff.registered(
            KvTransferNode.start(KvTransferConfig.defaults(), meters),
            KvLayout.of(c.nLayers(), c.nKvHeads(), c.headDim(), kvBlocks, model.kvDtype()));
    return new WorkerEngine(new InferenceEngine(model, kv.pool()), kv, new WorkerRole(r));
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
