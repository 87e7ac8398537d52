package dev.mha2mla.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** Entry point of the {@code mha2mla} command line. */
@Command(
    name = "mha2mla",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
      "Convert a Wav2Vec2-Conformer speech recognizer's multi-head attention to Multi-head Latent Attention,",
      "fine-tune it, and measure word error rate, speed and memory against the original."
    },
    subcommands = {TranscribeCommand.class, ConvertCommand.class, FinetuneCommand.class, EvaluateCommand.class, SynthCommand.class,
      PipelineCommand.class, SweepCommand.class, BenchmarkCommand.class, StreamCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {
  /** Read by {@link CliErrors} from the parse result, wherever on the command line it was given. */
  @Option(names = "--verbose", scope = ScopeType.INHERIT,
      description = "On an error, print its stack trace as well as the one-line message.")
  boolean verbose;

  /** Runs the command on a thread with a known stack: native code must not depend on how the JVM was started. */
  public static void main(String[] args) throws java.io.IOException {
    System.exit(dev.mha2mla.kernels.KnownStack.call("mha2mla", () -> run(args)));
  }

  /** The arguments of the command line being run, for a launcher that starts this command again ({@code --nproc}). */
  static volatile java.util.List<String> arguments = java.util.List.of();

  /** Runs the command line and returns the exit code (0 ok, 1 failed, 2 bad usage). */
  public static int run(String... args) {
    arguments = java.util.List.of(args);
    dev.mha2mla.io.RunInfo.setCommandLine(java.util.List.of(args));
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler(new CliErrors());
    cli.setCaseInsensitiveEnumValuesAllowed(true);  // --method joint, --train-scope encoder, ...
    return cli.execute(args);
  }
}
