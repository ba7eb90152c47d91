package dev.duet.controller.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.ControllerServer;
import dev.duet.controller.openai.OpenAiResponses;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.routing.Router;
import dev.duet.engine.exec.BatchScheduler;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.model.Model;
import dev.duet.worker.ControllerLink;
import dev.duet.worker.KvHandoff;
import dev.duet.worker.StepLoop;
import dev.duet.worker.WorkerEngine;
import dev.duet.worker.WorkerMetrics;
import dev.duet.worker.WorkerServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * A controller and {@code workers} role-both workers in this JVM, on real sockets: the workers
 * register over HTTP like separate processes do. For gateway tests.
 */
final class TestCluster implements AutoCloseable {

  final Vertx vertx = Vertx.vertx();
  final InstanceRegistry registry = new InstanceRegistry(System::nanoTime);
  final Gateway gateway;
  final int port;
  final List<InferenceEngine> engines = new ArrayList<>();
  final List<WorkerMetrics> workerMetrics = new ArrayList<>();
  final List<StepLoop> loops = new ArrayList<>();
  private final List<List<AutoCloseable>> workerParts = new ArrayList<>();
  private final List<AutoCloseable> closers = new ArrayList<>();

  TestCluster(Model model, String name, int workers, int kvBlocks, Duration ttftBudget)
      throws InterruptedException {
    this(model, name, java.util.Collections.nCopies(workers, "both"), kvBlocks, ttftBudget);
  }

  /** Workers of the given roles ({@code both}, {@code prefill}, {@code decode}). */
  TestCluster(Model model, String name, List<String> roles, int kvBlocks, Duration ttftBudget)
      throws InterruptedException {
    int workers = roles.size();
    gateway =
        new Gateway(
            ServedModel.of(name, model),
            registry,
            new Router(),
            new OpenAiResponses(Clock.systemUTC(), new SplittableRandom(1)),
            vertx.createHttpClient(),
            new SplittableRandom(2),
            new GatewayMetrics(registry),
            ttftBudget);
    ControllerServer controller = new ControllerServer(vertx, gateway, registry);
    port = controller.listen("127.0.0.1", 0).await();
    ObjectMapper json = new ObjectMapper();
    for (int w = 0; w < workers; w++) {
      String role = roles.get(w);
      WorkerEngine we = WorkerEngine.create(model, role, kvBlocks, new SimpleMeterRegistry());
      InferenceEngine engine = we.engine();
      KvHandoff kv = we.kv();
      StepLoop loop = new StepLoop(engine, new BatchScheduler.Options(64, 8, 16));
      WorkerMetrics metrics = new WorkerMetrics(loop, kvBlocks);
      WorkerServer server = new WorkerServer(vertx, model, loop, metrics, kv);
      int wport = server.listen("127.0.0.1", 0).await();
      ObjectNode d = json.createObjectNode();
      d.put("id", "w" + w);
      d.put("role", role);
      d.put("endpoint", "http://127.0.0.1:" + wport);
      d.put("model", name);
      d.put("kv_blocks", kvBlocks);
      d.put("block_size", 16);
      d.put("max_batch", 8);
      ControllerLink link =
          new ControllerLink(vertx, URI.create("http://127.0.0.1:" + port), d, loop);
      link.start();
      closers.addAll(List.of(link, server, loop, we));
      workerParts.add(List.of(link, server, loop));
      engines.add(engine);
      workerMetrics.add(metrics);
      loops.add(loop);
    }
    closers.add(controller);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (registry.alive().size() < workers && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    if (registry.alive().size() < workers) {
      throw new IllegalStateException("workers did not register within 10 s");
    }
  }

  /**
   * Kills worker {@code i} as a crash would look from outside: its heartbeats stop and its
   * connections drop mid-stream.
   */
  void kill(int i) throws Exception {
    for (AutoCloseable c : workerParts.get(i)) {
      c.close();
    }
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  int usedBlocks() {
    return engines.stream().mapToInt(e -> e.cache().usedBlocks()).sum();
  }

  @Override
  public void close() {
    try {
      for (AutoCloseable c : closers) {
        c.close();
      }
    } catch (Exception e) {
      throw new IllegalStateException("closing the test cluster: " + e, e);
    }
    vertx.close().await();
  }
}
