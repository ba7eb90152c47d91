package dev.duet.cli;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.chat.ChatTemplateException;
import dev.duet.engine.kv.KvCacheExhaustedException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code duet} command: the entry point of the runnable jar. */
@Command(
    name = "duet",
    mixinStandardHelpOptions = true,
    versionProvider = DuetCommand.Version.class,
    description = "Duet: LLM serving with disaggregated prefill and decode.",
    subcommands = {
      GenerateCommand.class,
      ControllerCommand.class,
      WorkerCommand.class,
      LocalCommand.class,
      BenchCommand.class,
      ModelCommand.class,
      CommandLine.HelpCommand.class
    })
public final class DuetCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  public static void main(String[] args) {
    exitWithParent(System.getProperty("duet.parent.pid"));
    System.exit(commandLine().execute(args));
  }

  /**
   * A child of {@code duet local} exits when its parent is gone, so a killed parent leaves no
   * orphans.
   */
  private static void exitWithParent(String pid) {
    if (pid == null) {
      return;
    }
    ProcessHandle parent = ProcessHandle.of(Long.parseLong(pid)).orElse(null);
    Thread.ofPlatform()
        .daemon(true)
        .name("duet-parent-watch")
        .start(
            () -> {
              while (parent != null && parent.isAlive()) {
                try {
                  Thread.sleep(500);
                } catch (InterruptedException e) {
                  return;
                }
              }
              System.err.println("duet: the parent process " + pid + " is gone; exiting");
              System.exit(1);
            });
  }

  /** The configured command line (tests call {@code execute} on it). */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new DuetCommand());
    cl.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          if (e instanceof ModelFormatException
              || e instanceof IllegalArgumentException
              || e instanceof KvCacheExhaustedException
              || e instanceof ChatTemplateException
              || e instanceof java.io.IOException
              || e instanceof java.io.UncheckedIOException) {
            commandLine.getErr().println("duet: " + e.getMessage());
            return 1;
          }
          throw e;
        });
    return cl;
  }

  /** Reports the version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = DuetCommand.class.getPackage().getImplementationVersion();
      return new String[] {
        "duet " + (v == null ? "(development build)" : v),
        "java " + Runtime.version(),
        "kernels " + (dev.duet.engine.tensor.Kernels.vectorized() ? "vector" : "scalar")
      };
    }
  }
}
