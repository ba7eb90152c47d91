package dev.duet.cli;

import dev.duet.controller.ControllerServer;
import dev.duet.controller.gateway.Gateway;
import dev.duet.controller.gateway.GatewayMetrics;
import dev.duet.controller.gateway.ServedModel;
import dev.duet.controller.openai.OpenAiResponses;
import dev.duet.controller.registry.InstanceRegistry;
import dev.duet.controller.routing.Router;
import dev.duet.engine.model.Model;
import dev.duet.engine.tensor.ComputePool;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
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
            + " /v1/chat/completions), the registry workers register with, and routing.")
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
      defaultValue = "10000",
      description =
          "Time to first token each instance is asked to meet; an instance that cannot start a"
              + " prompt in time refuses it and the next one is tried (default: ${DEFAULT-VALUE};"
              + " 0: none).")
  long ttftBudgetMs;

  @Option(names = "--policy", description = "Policy file (not read yet: comes with the planner).")
  String policy;

  @Override
  public Integer call() throws Exception {
    if (policy != null) {
      throw new IllegalArgumentException(
          "--policy is not supported yet (the policy file comes with the tidal planner)");
    }
    ComputePool pool = new ComputePool(1);
    Model llama = ModelLoader.load(model, pool);
    Vertx vertx = Vertx.vertx();
    InstanceRegistry registry = new InstanceRegistry(System::nanoTime);
    SecureRandom random = new SecureRandom();
    Gateway gateway =
        new Gateway(
            ServedModel.of(name != null ? name : model, llama),
            registry,
            new Router(),
            new OpenAiResponses(Clock.systemUTC(), random),
            // One upstream connection per in-flight request: a small pool would queue requests
            // inside the controller.
            vertx.createHttpClient(
                new HttpClientOptions().setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(4096)),
            random,
            new GatewayMetrics(registry),
            Duration.ofMillis(ttftBudgetMs));
    ControllerServer server = new ControllerServer(vertx, gateway, registry);
    int actual = server.listen(host, port).await();
    System.err.printf("duet controller on http://%s:%d serving %s%n", host, actual, model);
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  vertx.close().await();
                  llama.close();
                  pool.close();
                  stop.countDown();
                }));
    stop.await();
    return 0;
  }
}
