package dev.duet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.duet.controller.admin.AdminApi;
import dev.duet.controller.admin.AdminToken;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code duet local}: a whole cluster on this machine, as child processes: one controller and the
 * workers, on 127.0.0.1. Waits until every worker has registered, prints the URL and a curl
 * example, and stops every child on Ctrl-C or as soon as one of them dies. Children also watch this
 * process and exit if it disappears (no orphans after a kill -9).
 */
@Command(
    name = "local",
    mixinStandardHelpOptions = true,
    description = {
      "Start a controller and workers on this machine as child processes and serve the"
          + " OpenAI-compatible API on 127.0.0.1.",
      "With --prefill N --decode M the workers are split: prefill workers write each prompt's"
          + " KV into a decode worker over kv-transfer (shared memory on this host); with --both N"
          + " each worker prefills and decodes (the colocated baseline). Default: --both 1.",
      "The operator API (/admin/v1) takes the token of --admin-token, else of DUET_ADMIN_TOKEN,"
          + " else a generated one printed with the URL.",
      "With --engine sim --profile NAME every worker emulates a GPU (docs/sim.md): small heaps,"
          + " serial GC and one-processor JVM settings let 16 and more of them share 2 cores."
    })
final class LocalCommand implements Callable<Integer> {

  /** The default model: a real small Llama, downloaded once from the hub. */
  static final String DEFAULT_MODEL = "hf:ggml-org/models/tinyllamas/stories15M-q4_0.gguf";

  @Option(names = "--both", description = "Workers of role both (default: 1 without --prefill).")
  Integer both;

  @Option(names = "--prefill", defaultValue = "0", description = "Prefill workers.")
  int prefill;

  @Option(names = "--decode", defaultValue = "0", description = "Decode workers.")
  int decode;

  @Option(
      names = "--group",
      paramLabel = "NAME=PREFILL:DECODE",
      description =
          "More workers for a scenario group of the policy (--policy; docs/planner.md): PREFILL"
              + " prefill and DECODE decode workers started with --group NAME, which the"
              + " controller sends only that group's requests. Repeatable.")
  List<String> groups = List.of();

  @Option(
      names = "--model",
      description =
          "A .gguf file, a model directory, hf:ORG/REPO[/FILE] or synth:PRESET (default: "
              + DEFAULT_MODEL
              + ", or a synthetic model when the hub cannot be reached).")
  String model;

  @Mixin EngineChoice engineChoice = new EngineChoice();

  @Option(
      names = "--kv-memory-mb",
      defaultValue = "0",
      description =
          "Memory each worker's automatic KV size may use (0: the worker's default, 2048 MB; 256"
              + " MB with --engine sim).")
  long kvMemoryMb;

  /** KV memory per sim worker when --kv-memory-mb is 0. */
  static final long SIM_KV_MEMORY_MB = 256;

  /** Child JVM settings for sim workers: they compute nothing, so small and cheap. */
  static final List<String> SIM_WORKER_JVM =
      List.of(
          "-Xms16m",
          "-Xmx192m",
          "-XX:+UseSerialGC",
          "-XX:ActiveProcessorCount=1",
          "-XX:ReservedCodeCacheSize=48m",
          "-Xss512k");

  @Option(
      names = "--max-batch",
      defaultValue = "0",
      description = "Requests each worker runs at once (0: the worker's default, 32).")
  int maxBatch;

  @Option(
      names = "--token-budget",
      defaultValue = "0",
      description =
          "Rows each worker's forward pass takes, decode rows plus prefill tokens (0: the worker's"
              + " default, 512).")
  int tokenBudget;

  @Option(names = "--port", defaultValue = "8080", description = "The controller's port.")
  int port;

  @Option(
      names = "--threads",
      defaultValue = "0",
      description = "Compute threads per worker (0: the cores shared among the workers).")
  int threads;

  @Option(
      names = "--ready-timeout",
      defaultValue = "120",
      description = "Seconds to wait for every process to be ready.")
  int readyTimeout;

  @Option(
      names = "--admin-token",
      paramLabel = "TOKEN",
      description =
          "Bearer token of the controller's operator API (/admin/v1), at least "
              + AdminToken.MIN_LENGTH
              + " characters. Default: the "
              + AdminToken.ENV
              + " environment variable, else a random token printed with the URL. It reaches"
              + " the controller through its environment, not its command line.")
  String adminToken;

  @Option(
      names = "--policy",
      paramLabel = "FILE",
      description = "The controller's policy file (duet controller --policy).")
  Path policy;

  @Option(
      names = "--planner",
      description =
          "Run the tidal planner in the controller (docs/planner.md): it flips roles and starts"
              + " and stops workers (like these, up to the policy's budget.maxInstances) as the"
              + " load's prefill:decode mix changes. Workers it starts are the controller's"
              + " children and stop with it.")
  boolean planner;

  private final List<Process> children = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    if ((prefill > 0) != (decode > 0)) {
      throw new IllegalArgumentException(
          "--prefill and --decode go together (a split cluster needs at least one of each)");
    }
    int colocated = both != null ? both : (prefill > 0 ? 0 : 1);
    if (colocated < 0 || prefill < 0 || decode < 0 || colocated + prefill + decode == 0) {
      throw new IllegalArgumentException("need at least one worker");
    }
    List<LocalWorker> roles = new ArrayList<>();
    for (int i = 0; i < colocated; i++) {
      roles.add(new LocalWorker("both", LocalWorker.DEFAULT_GROUP));
    }
    for (int i = 0; i < prefill; i++) {
      roles.add(new LocalWorker("prefill", LocalWorker.DEFAULT_GROUP));
    }
    for (int i = 0; i < decode; i++) {
      roles.add(new LocalWorker("decode", LocalWorker.DEFAULT_GROUP));
    }
    for (String g : groups) {
      roles.addAll(LocalWorker.ofGroup(g));
    }
    int workers = roles.size();
    String givenToken = adminToken != null ? adminToken : System.getenv(AdminToken.ENV);
    boolean generated = givenToken == null || givenToken.isEmpty();
    AdminToken token =
        generated ? AdminToken.generate(new SecureRandom()) : AdminToken.of(givenToken);
    String spec = engineChoice.modelSpec(model, 16);
    boolean sim = spec != null && ModelLoader.isSim(spec);
    Path path = null;
    if (sim) {
      ModelLoader.load(spec, null).close(); // checks the profile and scale before starting anything
    } else if (spec == null) {
      try {
        path = ModelLocator.resolve(DEFAULT_MODEL);
        spec = DEFAULT_MODEL;
      } catch (IOException | RuntimeException e) {
        spec = "synth:small";
        System.err.println(
            "duet local: the default model "
                + DEFAULT_MODEL
                + " is not available ("
                + e.getMessage()
                + "); serving a synthetic model with random weights ("
                + spec
                + ") instead");
        path = ModelLocator.resolve(spec);
      }
    } else {
      path = ModelLocator.resolve(spec);
    }
    String name = servedName(spec);
    Runtime.getRuntime().addShutdownHook(new Thread(this::stopAll));
    String url = "http://127.0.0.1:" + port;
    int perWorker =
        threads > 0 ? threads : Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
    long kvMb = kvMemoryMb > 0 ? kvMemoryMb : sim ? SIM_KV_MEMORY_MB : 0;
    List<String> workerFlags = new ArrayList<>(List.of("--threads", String.valueOf(perWorker)));
    if (kvMb > 0) {
      workerFlags.addAll(List.of("--kv-memory-mb", String.valueOf(kvMb)));
    }
    if (maxBatch > 0) {
      workerFlags.addAll(List.of("--max-batch", String.valueOf(maxBatch)));
    }
    if (tokenBudget > 0) {
      workerFlags.addAll(List.of("--token-budget", String.valueOf(tokenBudget)));
    }
    List<String> controllerArgs =
        new ArrayList<>(
            List.of(
                "controller",
                "--port",
                String.valueOf(port),
                "--model",
                sim ? spec : path.toString(),
                "--served-model-name",
                name));
    if (policy != null) {
      controllerArgs.addAll(List.of("--policy", policy.toAbsolutePath().toString()));
    }
    if (planner) {
      if (colocated > 0) {
        throw new IllegalArgumentException(
            "--planner plans prefill and decode workers: use --prefill N --decode M, not --both");
      }
      // the controller starts every worker, so that the planner can stop any of them
      controllerArgs.addAll(
          List.of(
              "--planner",
              "--scaler",
              "local",
              "--worker-args",
              String.join(" ", workerFlags),
              "--start-workers",
              String.join(",", roles.stream().map(LocalWorker::startSpec).toList())));
    }
    start("controller", controllerArgs, List.of(), token);
    long deadline = System.nanoTime() + Duration.ofSeconds(readyTimeout).toNanos();
    awaitAlive(url, 0, deadline);
    for (int i = 0; i < (planner ? 0 : workers); i++) {
      LocalWorker w = roles.get(i);
      String id = w.idPrefix() + i;
      List<String> args =
          new ArrayList<>(
              List.of(
                  "worker",
                  "--role",
                  w.role(),
                  "--controller",
                  url,
                  "--model",
                  sim ? spec : path.toString(),
                  "--id",
                  id,
                  "--group",
                  w.group()));
      args.addAll(workerFlags);
      start(id, args, sim ? SIM_WORKER_JVM : List.of(), null);
    }
    awaitAlive(url, workers, deadline);
    System.out.printf(
        "%nDuet is serving %s at %s (%d worker%s: %s).%n%nTry:%n  curl %s/v1/completions"
            + " -H 'Content-Type: application/json' -d '{\"model\": \"%s\", \"prompt\": \"Once"
            + " upon a time\", \"max_tokens\": 32}'%n%nOperator API (docs/operator-api.md):%n"
            + "  curl %s%s/cluster -H 'Authorization: Bearer %s'%n"
            + "Dashboard (docs/dashboard.md), with the same token: %s/ui%n%nCtrl-C stops"
            + " everything.%n",
        name,
        url,
        workers,
        workers == 1 ? "" : "s",
        (prefill > 0
                ? prefill
                    + " prefill, "
                    + decode
                    + " decode"
                    + (colocated > 0 ? ", " + colocated + " both" : "")
                : "role both")
            + (groups.isEmpty() ? "" : "; groups " + String.join(", ", groups)),
        url,
        name,
        url,
        AdminApi.PREFIX,
        generated ? token.reveal() : "<your " + AdminToken.ENV + " or --admin-token>",
        url);
    System.out.flush();
    while (true) {
      for (int i = 0; i < children.size(); i++) {
        Process p = children.get(i);
        if (!p.isAlive()) {
          System.err.printf(
              "duet local: %s exited with %d; stopping the others%n",
              i == 0 ? "the controller" : "worker " + (i - 1), p.exitValue());
          stopAll();
          return 1;
        }
      }
      Thread.sleep(200);
    }
  }

  /**
   * Starts a child with extra JVM options {@code jvm}; {@code token}, when not null, goes into its
   * {@value AdminToken#ENV}.
   */
  private void start(String what, List<String> args, List<String> jvm, AdminToken token)
      throws IOException {
    List<String> cmd = DuetProcess.command(jvm, args);
    ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
    if (token != null) {
      pb.environment().put(AdminToken.ENV, token.reveal());
    }
    Process p = pb.start();
    children.add(p);
    System.err.printf("duet local: started %s (pid %d)%n", what, p.pid());
  }

  /** Waits until the controller answers and has {@code workers} live instances. */
  private void awaitAlive(String url, int workers, long deadline) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    ObjectMapper json = new ObjectMapper();
    while (System.nanoTime() < deadline) {
      for (Process p : children) {
        if (!p.isAlive()) {
          throw new IllegalStateException("a child process exited while starting; see its log");
        }
      }
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(url + "/internal/v1/instances"))
                    .timeout(Duration.ofSeconds(1))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          int alive = 0;
          for (JsonNode i : json.readTree(r.body())) {
            alive += i.path("alive").asBoolean() ? 1 : 0;
          }
          if (alive >= workers) {
            return;
          }
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(
        "the cluster was not ready within " + readyTimeout + " s (--ready-timeout)");
  }

  private synchronized void stopAll() {
    Processes.stopAll(children, Duration.ofSeconds(10));
  }

  static String servedName(String spec) {
    if (ModelLoader.isSim(spec)) {
      return spec.substring(ModelLoader.SIM_PREFIX.length()).split(":")[0];
    }
    String last = spec.substring(spec.lastIndexOf('/') + 1);
    if (last.startsWith("synth:")) {
      last = last.substring("synth:".length()).split(":")[0];
    }
    return last.endsWith(".gguf") ? last.substring(0, last.length() - ".gguf".length()) : last;
  }
}
