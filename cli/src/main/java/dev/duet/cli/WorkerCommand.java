package dev.duet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.registry.InstanceDescriptor;
import dev.duet.engine.exec.BatchScheduler;
import dev.duet.engine.exec.EngineOptions;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.model.Model;
import dev.duet.engine.sim.SimModel;
import dev.duet.engine.tensor.ComputePool;
import dev.duet.worker.ControllerLink;
import dev.duet.worker.StepLoop;
import dev.duet.worker.WorkerEngine;
import dev.duet.worker.WorkerMetrics;
import dev.duet.worker.WorkerServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import java.net.URI;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code duet worker}: one worker process. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "Run a worker: load the model, serve its control API, register with the controller and"
          + " heartbeat its load every second.",
      "Roles: both (prefill and decode in one process, the colocated baseline), prefill (computes"
          + " prompts and writes their KV into a decode worker over kv-transfer), decode (holds"
          + " the KV pool in shared memory, continues requests and streams their tokens).",
      "With --engine sim --profile NAME the worker emulates a GPU: passes take the profile's"
          + " time, real-size KV moves over kv-transfer, tokens are deterministic (docs/sim.md)."
    })
final class WorkerCommand implements Callable<Integer> {

  @Option(names = "--role", defaultValue = "both", description = "prefill, decode or both.")
  String role;

  @Option(
      names = "--group",
      defaultValue = InstanceDescriptor.DEFAULT_GROUP,
      paramLabel = "NAME",
      description =
          "The scenario group it serves (a group of the controller's policy, docs/planner.md):"
              + " the controller routes it only that group's requests. Default: default.")
  String group;

  @Option(names = "--controller", required = true, description = "The controller's URL.")
  URI controller;

  @Option(
      names = "--model",
      description =
          "A .gguf file, a model directory, hf:ORG/REPO[/FILE], synth:PRESET or"
              + " sim:PROFILE[:KV_SCALE[:SPEEDUP]] (required unless --engine sim).")
  String model;

  @Mixin EngineChoice engineChoice = new EngineChoice();

  @Option(names = "--port", defaultValue = "0", description = "Port (0: any free port).")
  int port;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on.")
  String host;

  @Option(names = "--id", description = "Instance id (default: worker-<random>).")
  String id;

  @Option(
      names = "--kv-blocks",
      defaultValue = "0",
      description =
          "KV cache blocks of 16 tokens (0: enough for --max-batch full contexts, within"
              + " --kv-memory-mb).")
  int kvBlocks;

  @Option(
      names = "--kv-memory-mb",
      defaultValue = "2048",
      description = "Memory the automatic KV size may use (default: ${DEFAULT-VALUE} MB).")
  long kvMemoryMb;

  @Option(names = "--max-batch", defaultValue = "32", description = "Requests run at once.")
  int maxBatch;

  @Option(
      names = "--token-budget",
      defaultValue = "512",
      description = "Rows per forward pass (decode rows + prefill tokens).")
  int tokenBudget;

  @Option(names = "--max-queued", defaultValue = "64", description = "Queue bound (429 beyond).")
  int maxQueued;

  @Option(names = "--threads", defaultValue = "0", description = "Compute threads (0: all).")
  int threads;

  /** Blocks for --max-batch full contexts, within --kv-memory-mb, at least one full context. */
  private int autoKvBlocks(Model m) {
    dev.duet.engine.model.LlamaConfig c = m.config();
    int bs = EngineOptions.defaults().blockSize();
    long contextBlocks = (c.contextLength() + bs - 1) / bs;
    long bytesPerBlock = 2L * c.nLayers() * bs * c.kvDim() * m.kvDtype().bytes();
    long fit = kvMemoryMb * 1_000_000L / bytesPerBlock;
    return (int) Math.max(contextBlocks, Math.min((long) maxBatch * contextBlocks, fit));
  }

  @Override
  public Integer call() throws Exception {
    String r = role.toLowerCase(Locale.ROOT);
    if (!r.equals("both") && !r.equals("prefill") && !r.equals("decode")) {
      throw new IllegalArgumentException("--role must be prefill, decode or both, not " + role);
    }
    if (group.isBlank()) {
      throw new IllegalArgumentException("--group must not be blank");
    }
    String instanceId = id != null ? id : "worker-" + UUID.randomUUID().toString().substring(0, 8);
    String spec = engineChoice.modelSpec(model);
    if (spec == null) {
      throw new IllegalArgumentException("--model is required (or --engine sim --profile NAME)");
    }
    boolean sim = ModelLoader.isSim(spec);
    // The sim computes nothing in parallel: one thread is enough.
    ComputePool pool =
        sim
            ? new ComputePool(1)
            : threads > 0 ? new ComputePool(threads) : ComputePool.ofAvailableProcessors();
    Model llama = ModelLoader.load(spec, pool);
    int blocks = kvBlocks > 0 ? kvBlocks : autoKvBlocks(llama);
    PrometheusMeterRegistry meters = WorkerMetrics.newRegistry();
    if (llama instanceof SimModel simModel) {
      io.micrometer.core.instrument.FunctionCounter.builder(
              "duet.sim.late.steps", simModel, SimModel::lateSteps)
          .description("emulated passes whose own CPU work overran the profile's time")
          .register(meters);
    }
    WorkerEngine we = WorkerEngine.create(llama, r, blocks, meters);
    InferenceEngine engine = we.engine();
    StepLoop loop =
        new StepLoop(engine, new BatchScheduler.Options(tokenBudget, maxBatch, maxQueued));
    Vertx vertx = Vertx.vertx();
    WorkerServer server =
        new WorkerServer(
            vertx, llama, loop, new WorkerMetrics(loop, engine.cache().totalBlocks(), meters), we);
    int actual = server.listen(host, port).await();
    ObjectNode d = new ObjectMapper().createObjectNode();
    d.put("id", instanceId);
    d.put("role", r);
    d.put("endpoint", "http://" + host + ":" + actual);
    d.put("model", spec);
    d.put("kv_blocks", engine.cache().totalBlocks());
    d.put("block_size", engine.cache().layout().blockSize());
    d.put("max_batch", maxBatch);
    d.put("group", group);
    ControllerLink link = new ControllerLink(vertx, controller, d, loop, we.role());
    link.start();
    System.err.printf(
        "duet worker %s (role %s) on http://%s:%d, %d KV blocks; controller %s%n",
        instanceId, r, host, actual, engine.cache().totalBlocks(), controller);
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  link.close();
                  server.close();
                  loop.close();
                  vertx.close().await();
                  we.close();
                  llama.close();
                  pool.close();
                  stop.countDown();
                }));
    stop.await();
    return 0;
  }
}
