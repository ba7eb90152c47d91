package dev.duet.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a {@code duet} child process: this JVM's java and class path, the flags the
 * engine needs, and {@code -Dduet.parent.pid} so that the child exits when this process goes away
 * (no orphans, even after a kill -9). Used by {@code duet local} for its controller and workers and
 * by {@link ProcessScaler} for the workers it starts.
 *
 * <p>Stateless; thread-safe.
 */
final class DuetProcess {
  private DuetProcess() {}

  /**
   * {@code java [flags] [jvm] -cp CLASSPATH dev.duet.cli.DuetCommand [args]}.
   *
   * @param jvm extra JVM options; empty gives the default collector (parallel)
   * @param args the duet subcommand and its options
   */
  static List<String> command(List<String> jvm, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(
        List.of(
            "--add-modules",
            "jdk.incubator.vector",
            "--enable-native-access=ALL-UNNAMED",
            "-Dduet.parent.pid=" + ProcessHandle.current().pid()));
    cmd.addAll(jvm.isEmpty() ? List.of("-XX:+UseParallelGC") : jvm);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DuetCommand.class.getName()));
    cmd.addAll(args);
    return cmd;
  }
}
