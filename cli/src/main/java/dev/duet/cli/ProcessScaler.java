package dev.duet.cli;

import dev.duet.controller.planner.Scaler;
import dev.duet.controller.registry.InstanceRole;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@link Scaler} of {@code duet local}: starts {@code duet worker} child processes of this JVM
 * (same java, class path and flags as {@code duet local}'s own workers, through {@link
 * DuetProcess}) that register with the controller at {@code controllerUrl}, and stops them with
 * SIGTERM once the planner has drained them, SIGKILL if one has not exited after {@link
 * #STOP_GRACE}. A worker started for a scenario group gets {@code --group}, so that it registers as
 * one of that group's instances. Children exit on their own when this process dies; {@link #close}
 * stops the ones still running.
 *
 * <p>Threading: thread-safe; waiting for an exit runs on a virtual thread.
 */
final class ProcessScaler implements Scaler, AutoCloseable {
  static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final String controllerUrl;
  private final String model;
  private final List<String> workerArgs;
  private final List<String> jvm;
  private final String prefix;
  private final AtomicInteger next = new AtomicInteger();
  private final Map<String, Process> children = new ConcurrentHashMap<>();

  /**
   * @param model the worker's {@code --model}
   * @param workerArgs more {@code duet worker} options (e.g. {@code --threads 1})
   * @param jvm the workers' extra JVM options ({@link LocalCommand#SIM_WORKER_JVM} for sim models)
   * @param prefix instance ids are {@code PREFIX-N}
   */
  ProcessScaler(
      String controllerUrl,
      String model,
      List<String> workerArgs,
      List<String> jvm,
      String prefix) {
    this.controllerUrl = Objects.requireNonNull(controllerUrl, "controllerUrl");
    this.model = Objects.requireNonNull(model, "model");
    this.workerArgs = List.copyOf(workerArgs);
    this.jvm = List.copyOf(jvm);
    this.prefix = Objects.requireNonNull(prefix, "prefix");
  }

  @Override
  public CompletableFuture<String> start(String group, InstanceRole role) {
    String id = prefix + "-" + next.getAndIncrement();
    List<String> args =
        new ArrayList<>(
            List.of(
                "worker",
                "--role",
                role.wireName(),
                "--controller",
                controllerUrl,
                "--model",
                model,
                "--id",
                id,
                "--group",
                group));
    args.addAll(workerArgs);
    try {
      Process p = new ProcessBuilder(DuetProcess.command(jvm, args)).inheritIO().start();
      children.put(id, p);
      System.err.printf(
          "duet: started worker %s (%s, group %s, pid %d)%n", id, args.get(2), group, p.pid());
      return CompletableFuture.completedFuture(id);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(
          new IOException("could not start worker " + id + ": " + e.getMessage(), e));
    }
  }

  @Override
  public CompletableFuture<Void> stop(String instanceId) {
    Process p = children.remove(instanceId);
    if (p == null) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException(
              "instance "
                  + instanceId
                  + " was not started by this scaler (started: "
                  + children.keySet()
                  + ")"));
    }
    CompletableFuture<Void> exited = new CompletableFuture<>();
    Thread.ofVirtual()
        .name("stop-" + instanceId)
        .start(
            () -> {
              try {
                Processes.stopInterruptibly(p, STOP_GRACE);
                exited.complete(null);
              } catch (InterruptedException e) {
                exited.completeExceptionally(e);
              }
            });
    return exited;
  }

  /** Ids of the workers it started that have not been stopped. */
  List<String> running() {
    return children.entrySet().stream()
        .filter(e -> e.getValue().isAlive())
        .map(Map.Entry::getKey)
        .sorted()
        .toList();
  }

  @Override
  public void close() {
    Processes.stopAll(children.values(), STOP_GRACE);
    children.clear();
  }
}
