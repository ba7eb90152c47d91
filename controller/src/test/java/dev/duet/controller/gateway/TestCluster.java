package dev.duet.controller.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.controller.ControllerServer;
import dev.duet.controller.admin.AdminApi;
import dev.duet.controller.admin.AdminToken;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.events.InMemoryEventLog;
import dev.duet.controller.history.ClusterHistory;
import dev.duet.controller.history.HistoryAdmin;
import dev.duet.controller.openai.OpenAiResponses;
import dev.duet.controller.planner.Scaler;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.roles.InPlaceRoleFlipper;
import dev.duet.controller.roles.RoleAdmin;
import dev.duet.controller.routing.Router;
import dev.duet.controller.tidal.PlannerLoop;
import dev.duet.controller.tidal.Planners;
import dev.duet.engine.exec.BatchScheduler;
import dev.duet.engine.exec.InferenceEngine;
import dev.duet.engine.model.Model;
import dev.duet.worker.ControllerLink;
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
 * register over HTTP like separate processes do, and the operator API with {@link #ADMIN_TOKEN}.
 * For gateway and operator API tests.
 */
public final class TestCluster implements AutoCloseable {

  /** The operator API's bearer token in test clusters. */
  public static final String ADMIN_TOKEN = "test-admin-token-0123456789";

  final Vertx vertx = Vertx.vertx();
  public final EventLog events = InMemoryEventLog.withDefaults();
  public final InstanceRegistry registry = new InstanceRegistry(System::nanoTime, events);
  final Gateway gateway;
  public final AdminApi admin;
  private final GatewayMetrics gatewayMetrics;
  public final InPlaceRoleFlipper flipper;

  /**
   * Served at {@code /admin/v1/history}; sampled every {@link #HISTORY_INTERVAL} once {@link
   * #startHistory} is called (only the tests that read it pay for the timer).
   */
  public final ClusterHistory history;

  /** The history's sampling interval in test clusters (short, so charts fill quickly). */
  public static final Duration HISTORY_INTERVAL = Duration.ofMillis(250);

  public final int port;
  final List<InferenceEngine> engines = new ArrayList<>();
  final List<WorkerMetrics> workerMetrics = new ArrayList<>();
  final List<StepLoop> loops = new ArrayList<>();
  final List<WorkerEngine> workerEngines = new ArrayList<>();
  private final List<List<AutoCloseable>> workerParts = new ArrayList<>();
  private final List<AutoCloseable> closers = new ArrayList<>();

  public TestCluster(Model model, String name, int workers, int kvBlocks, Duration ttftBudget)
      throws InterruptedException {
    this(model, name, java.util.Collections.nCopies(workers, "both"), kvBlocks, ttftBudget);
  }

  /**
   * Workers of the given roles ({@code both}, {@code prefill}, {@code decode}), each {@code
   * ROLE@GROUP} for a worker of a scenario group (as {@code duet controller --start-workers}).
   */
  public TestCluster(
      Model model, String name, List<String> roles, int kvBlocks, Duration ttftBudget)
      throws InterruptedException {
    int workers = roles.size();
    gatewayMetrics = new GatewayMetrics(registry);
    gateway =
        new Gateway(
            ServedModel.of(name, model),
            registry,
            new Router(),
            new OpenAiResponses(Clock.systemUTC(), new SplittableRandom(1)),
            Gateway.upstreamClient(vertx),
            new SplittableRandom(2),
            gatewayMetrics,
            ttftBudget,
            events);
    admin =
        new AdminApi(
            AdminToken.of(ADMIN_TOKEN), registry, events, gatewayMetrics, System::nanoTime);
    MigrationAdmin.register(admin, gateway, registry, events);
    flipper =
        new InPlaceRoleFlipper(
            vertx,
            registry,
            gateway.migrator(),
            events,
            new InPlaceRoleFlipper.Options(Duration.ofSeconds(20), Duration.ofMillis(20), 2),
            System::nanoTime);
    RoleAdmin.register(admin, flipper, registry);
    history =
        new ClusterHistory(
            registry,
            gatewayMetrics,
            () -> Policy.Slo.DEFAULTS,
            Clock.systemUTC(),
            System::nanoTime,
            HISTORY_INTERVAL,
            Duration.ofMinutes(10));
    HistoryAdmin.register(admin, history);
    ControllerServer controller = new ControllerServer(vertx, gateway, registry, admin);
    port = controller.listen("127.0.0.1", 0).await();
    ObjectMapper json = new ObjectMapper();
    for (int w = 0; w < workers; w++) {
      String[] roleAndGroup = roles.get(w).split("@", 2);
      String role = roleAndGroup[0];
      WorkerEngine we = WorkerEngine.create(model, role, kvBlocks, new SimpleMeterRegistry());
      InferenceEngine engine = we.engine();
      StepLoop loop = new StepLoop(engine, new BatchScheduler.Options(64, 8, 64));
      WorkerMetrics metrics = new WorkerMetrics(loop, kvBlocks);
      WorkerServer server = new WorkerServer(vertx, model, loop, metrics, we);
      int wport = server.listen("127.0.0.1", 0).await();
      ObjectNode d = json.createObjectNode();
      d.put("id", "w" + w);
      d.put("role", role);
      d.put("endpoint", "http://127.0.0.1:" + wport);
      d.put("model", name);
      d.put("kv_blocks", kvBlocks);
      d.put("block_size", 16);
      d.put("max_batch", 8);
      if (roleAndGroup.length == 2) {
        d.put("group", roleAndGroup[1]);
      }
      ControllerLink link =
          new ControllerLink(vertx, URI.create("http://127.0.0.1:" + port), d, loop, we.role());
      link.start();
      closers.addAll(List.of(link, server, loop, we));
      workerParts.add(List.of(link, server, loop));
      workerEngines.add(we);
      engines.add(engine);
      workerMetrics.add(metrics);
      loops.add(loop);
    }
    closers.add(controller);
    closers.add(flipper);
    closers.add(history);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (registry.alive().size() < workers && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    if (registry.alive().size() < workers) {
      throw new IllegalStateException("workers did not register within 10 s");
    }
  }

  /** Starts sampling the {@link #history}. */
  public TestCluster startHistory() {
    history.start(vertx);
    return this;
  }

  /**
   * Wires the tidal planner as {@code duet controller} does (tracker fed by this gateway and these
   * heartbeats, the policy and planner endpoints), flipping through this cluster's in-place
   * flipper, with no scaler; the loop does not run rounds by itself: tests call {@link
   * PlannerLoop#round}. Closed with the cluster.
   */
  public PlannerLoop wirePlanner(PolicyStore policies) {
    return wirePlanner(policies, Planners.NO_SCALER, false);
  }

  /**
   * Wires the tidal planner with {@code scaler}; when {@code run}, the loop runs its rounds on this
   * cluster's Vert.x timer every interval of the current policy, as {@code duet controller
   * --planner} does. Closed with the cluster.
   */
  public PlannerLoop wirePlanner(PolicyStore policies, Scaler scaler, boolean run) {
    PlannerLoop loop =
        Planners.wire(
            vertx,
            policies,
            registry,
            gateway,
            gatewayMetrics,
            admin,
            events,
            flipper,
            scaler,
            run);
    closers.add(0, loop);
    return loop;
  }

  /**
   * Kills worker {@code i} as a crash would look from outside: its heartbeats stop and its
   * connections drop mid-stream.
   */
  public void kill(int i) throws Exception {
    for (AutoCloseable c : workerParts.get(i)) {
      c.close();
    }
  }

  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  /** Tokens worker {@code i} has generated so far (every one its clients have been sent). */
  public long generatedTokens(int i) throws Exception {
    return loops.get(i).generatedTokens().get(10, TimeUnit.SECONDS);
  }

  /** Worker {@code i}'s step loop load now. */
  public StepLoop.Load load(int i) {
    return loops.get(i).load();
  }

  /** KV blocks in use over every worker. */
  public int usedBlocks() {
    return engines.stream().mapToInt(e -> e.cache().usedBlocks()).sum();
  }

  /**
   * Waits up to 10 s for every worker to free its KV blocks (a request's blocks are freed after its
   * answer ends); returns the blocks still in use, for the caller to assert zero.
   */
  public int awaitBlocksFree() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (usedBlocks() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    return usedBlocks();
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
