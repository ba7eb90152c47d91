package dev.duet.cli;

import dev.duet.controller.ControllerServer;
import dev.duet.controller.admin.AdminApi;
import dev.duet.controller.admin.AdminToken;
import dev.duet.controller.events.EventLog;
import dev.duet.controller.events.InMemoryEventLog;
import dev.duet.controller.gateway.Gateway;
import dev.duet.controller.gateway.GatewayMetrics;
import dev.duet.controller.gateway.MigrationAdmin;
import dev.duet.controller.gateway.Rebalancer;
import dev.duet.controller.gateway.ServedModel;
import dev.duet.controller.history.ClusterHistory;
import dev.duet.controller.history.HistoryAdmin;
import dev.duet.controller.openai.OpenAiResponses;
import dev.duet.controller.policy.Policy;
import dev.duet.controller.policy.PolicyFileWatcher;
import dev.duet.controller.policy.PolicyStore;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.registry.InstanceRole;
import dev.duet.controller.roles.InPlaceRoleFlipper;
import dev.duet.controller.roles.RoleAdmin;
import dev.duet.controller.routing.Router;
import dev.duet.controller.tidal.PlannerLoop;
import dev.duet.controller.tidal.Planners;
import dev.duet.engine.model.Model;
import dev.duet.engine.tensor.ComputePool;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code duet controller}: the global controller and OpenAI-compatible gateway. */
@Command(
    name = "controller",
    mixinStandardHelpOptions = true,
    description =
        "Run the controller: the OpenAI-compatible API (/v1/models, /v1/completions,"
            + " /v1/chat/completions), the registry workers register with, routing, and the"
            + " operator API under /admin/v1 (bearer token: --admin-token, else DUET_ADMIN_TOKEN,"
            + " else a random token printed once at startup).")
final class ControllerCommand implements Callable<Integer> {

  @Option(names = "--port", defaultValue = "8080", description = "Port (default: 8080).")
  int port;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on.")
  String host;

  @Option(
      names = "--model",
      required = true,
      description =
          "The served model (the controller reads its tokenizer and chat template): a .gguf"
              + " file, a model directory, hf:ORG/REPO[/FILE], synth:PRESET or sim:PROFILE (the"
              + " emulated model of duet worker --engine sim).")
  String model;

  @Option(
      names = "--served-model-name",
      description = "The name clients put in \"model\" (default: the --model argument).")
  String name;

  @Option(
      names = "--ttft-budget-ms",
      description =
          "Time to first token each request is given: it waits at most this long for an instance"
              + " with KV room, and an instance that cannot start the prompt within what is left"
              + " refuses it and the next one is tried; 0: none. Overrides the policy's"
              + " admission.ttftBudgetMs. Default: with --policy, that (it follows reloads; its"
              + " own default is slo.ttftMs); without, "
              + NO_POLICY_TTFT_BUDGET_MS
              + " ms.")
  Long ttftBudgetMs;

  /**
   * The TTFT budget without --ttft-budget-ms or a policy file: loose, so that a CPU worker that
   * queues a few prompts on a busy machine is not refused (the policy's default, the 2 s TTFT SLO,
   * refused requests of a lone `duet local` in CI).
   */
  static final long NO_POLICY_TTFT_BUDGET_MS = 10_000;

  @Option(
      names = "--admin-token",
      paramLabel = "TOKEN",
      description =
          "Bearer token of the operator API (/admin/v1), at least "
              + AdminToken.MIN_LENGTH
              + " characters. Default: the "
              + AdminToken.ENV
              + " environment variable; without either a random token is generated and printed"
              + " once on stderr. Prefer the variable: a flag shows in the process list.")
  String adminToken;

  @Option(
      names = "--policy",
      paramLabel = "FILE",
      description =
          "Policy file (YAML: SLOs, role bounds, planner, admission, rebalancer, groups; see"
              + " docs/policy.example.yaml). Validated at start (every error with its path);"
              + " reloaded when the file changes. Default: the documented defaults.")
  Path policy;

  @Option(
      names = "--history-interval-ms",
      defaultValue = "2000",
      description =
          "How often the cluster history (GET /admin/v1/history, the /ui dashboard's charts) is"
              + " sampled; it keeps the last hour (default: ${DEFAULT-VALUE}, at least 100).")
  long historyIntervalMs;

  @Option(
      names = "--planner",
      description =
          "Run the tidal planner (docs/planner.md): every planner.intervalSeconds of the policy it"
              + " forecasts the load and flips roles (and, with --scaler, starts and stops"
              + " workers) to keep the prefill:decode ratio matched. Off by default: then GET"
              + " /admin/v1/planner shows no round, and PUT /admin/v1/policy?dryRun=true still"
              + " answers what it would decide.")
  boolean planner;

  @Option(
      names = "--scaler",
      defaultValue = "none",
      description =
          "How the planner changes the number of workers: none (it only flips roles) or local"
              + " (it starts duet worker child processes of this controller, as duet local does,"
              + " and stops drained ones). Default: ${DEFAULT-VALUE}.")
  String scaler;

  @Option(
      names = "--worker-args",
      paramLabel = "ARGS",
      defaultValue = "",
      description =
          "With --scaler local: more options for the workers it starts, in one string (e.g."
              + " \"--threads 1 --kv-memory-mb 256\"); --role, --controller, --model and --id are"
              + " set by the scaler.")
  String workerArgs;

  @Option(
      names = "--start-workers",
      paramLabel = "ROLES",
      split = ",",
      description =
          "With --scaler local: workers to start at once, by role (e.g. prefill,prefill,decode),"
              + " each ROLE@GROUP for a worker of a scenario group of the policy (e.g."
              + " prefill@batch); the scaler can stop them later as it can the ones it starts for"
              + " the planner.")
  List<String> startWorkers = List.of();

  @Override
  public Integer call() throws Exception {
    if (!startWorkers.isEmpty() && !scaler.equals("local")) {
      throw new IllegalArgumentException("--start-workers needs --scaler local");
    }
    if (!scaler.equals("none") && !scaler.equals("local")) {
      throw new IllegalArgumentException("--scaler must be none or local, got '" + scaler + "'");
    }
    PolicyStore policies = new PolicyStore(Clock.systemUTC());
    PolicyFileWatcher watcher = null;
    if (policy != null) {
      String text = Files.readString(policy);
      if (policies.replace(text, "file:" + policy) instanceof PolicyStore.Outcome.Rejected r) {
        throw new IllegalArgumentException(
            "invalid policy file "
                + policy
                + ":\n  "
                + String.join("\n  ", r.errors().stream().map(Object::toString).toList()));
      }
      watcher = new PolicyFileWatcher(policy, policies).start(Duration.ofSeconds(2));
    }
    SecureRandom random = new SecureRandom();
    String given = adminToken != null ? adminToken : System.getenv(AdminToken.ENV);
    AdminToken token =
        given != null && !given.isEmpty() ? AdminToken.of(given) : AdminToken.generate(random);
    ComputePool pool = new ComputePool(1);
    Model llama = ModelLoader.load(model, pool);
    Vertx vertx = Vertx.vertx();
    EventLog events = InMemoryEventLog.withDefaults();
    InstanceRegistry registry = new InstanceRegistry(System::nanoTime, events);
    GatewayMetrics metrics = new GatewayMetrics(registry);
    Gateway gateway =
        new Gateway(
            ServedModel.of(name != null ? name : model, llama),
            registry,
            new Router(),
            new OpenAiResponses(Clock.systemUTC(), random),
            Gateway.upstreamClient(vertx),
            random,
            metrics,
            Duration.ofMillis(
                ttftBudgetMs != null
                    ? ttftBudgetMs
                    : policy == null ? NO_POLICY_TTFT_BUDGET_MS : 0),
            events);
    if (ttftBudgetMs == null && policy != null) {
      gateway.ttftBudgetBy(Planners.ttftBudget(policies));
    }
    AdminApi admin = new AdminApi(token, registry, events, metrics, System::nanoTime);
    MigrationAdmin.register(admin, gateway, registry, events);
    InPlaceRoleFlipper flipper =
        new InPlaceRoleFlipper(
            vertx,
            registry,
            gateway.migrator(),
            events,
            InPlaceRoleFlipper.Options.defaults(),
            System::nanoTime);
    RoleAdmin.register(admin, flipper, registry);
    ClusterHistory history =
        new ClusterHistory(
                registry,
                metrics,
                () -> policies.current().policy().slo(),
                Clock.systemUTC(),
                System::nanoTime,
                Duration.ofMillis(historyIntervalMs),
                ClusterHistory.DEFAULT_SPAN)
            .start(vertx);
    HistoryAdmin.register(admin, history);
    new Rebalancer(registry, gateway, () -> policies.current().policy().rebalancer()).start(vertx);
    ControllerServer server = new ControllerServer(vertx, gateway, registry, admin);
    int actual = server.listen(host, port).await();
    ProcessScaler workers =
        new ProcessScaler(
            "http://" + host + ":" + actual,
            model,
            workerArgs.isBlank() ? List.of() : List.of(workerArgs.trim().split("\\s+")),
            ModelLoader.isSim(model) ? LocalCommand.SIM_WORKER_JVM : List.of(),
            "scaled");
    PlannerLoop loop =
        Planners.wire(
            vertx,
            policies,
            registry,
            gateway,
            metrics,
            admin,
            events,
            flipper,
            scaler.equals("local") ? workers : Planners.NO_SCALER,
            planner);
    // The dashboard's "arrivals vs forecast": the planner's last forecast for its interval.
    history.forecast(
        at ->
            loop.planner()
                .last()
                .map(
                    d ->
                        java.util.OptionalDouble.of(
                            d.groups().stream()
                                .mapToDouble(g -> g.forecast().arrivalsPerS())
                                .sum()))
                .orElse(java.util.OptionalDouble.empty()));
    System.err.printf("duet controller on http://%s:%d serving %s%n", host, actual, model);
    System.err.printf("duet controller: dashboard at http://%s:%d/ui%n", host, actual);
    if (given == null || given.isEmpty()) {
      System.err.printf(
          "duet controller: operator API at http://%s:%d%s with the generated token%n"
              + "    Authorization: Bearer %s%n"
              + "  (set --admin-token or %s to choose it)%n",
          host, actual, AdminApi.PREFIX, token.reveal(), AdminToken.ENV);
    }
    for (String spec : startWorkers) {
      int at = spec.indexOf('@');
      String role = at < 0 ? spec : spec.substring(0, at);
      String group = at < 0 ? Policy.DEFAULT_GROUP : spec.substring(at + 1);
      if (group.isBlank()) {
        throw new IllegalArgumentException("--start-workers: '" + spec + "' names no group");
      }
      InstanceRole r =
          switch (role) {
            case "prefill" -> InstanceRole.PREFILL;
            case "decode" -> InstanceRole.DECODE;
            case "both" -> InstanceRole.BOTH;
            default ->
                throw new IllegalArgumentException(
                    "--start-workers: '" + role + "' is not prefill, decode or both");
          };
      // the planner counts a worker of a group its policy does not name in the default group
      String planned =
          policies.current().policy().groupNames().contains(group) ? group : Policy.DEFAULT_GROUP;
      loop.started(workers.start(group, r).join(), planned, r);
    }
    PolicyFileWatcher closeWatcher = watcher;
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  loop.close();
                  workers.close();
                  server.close();
                  flipper.close();
                  if (closeWatcher != null) {
                    closeWatcher.close();
                  }
                  vertx.close().await();
                  llama.close();
                  pool.close();
                  stop.countDown();
                }));
    stop.await();
    return 0;
  }
}
