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
    System.exit(commandLine().execute(args));
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
