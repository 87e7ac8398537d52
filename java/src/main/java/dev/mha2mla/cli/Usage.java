package dev.mha2mla.cli;

import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * Bad usage, exit code 2: an option value out of its range or not one of its choices. Commands check their own
 * options with {@link #error}, and run the library's parsers and option constructors, whose
 * {@link IllegalArgumentException} then also means a bad option value, through {@link #check}. Everything else that
 * fails later (a file, the data, the model) stays a failure, exit code 1.
 */
final class Usage {
  private Usage() {
  }

  static ParameterException error(CommandSpec spec, String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  /** Throws {@link #error} with {@code message} unless {@code ok}. */
  static void require(CommandSpec spec, boolean ok, String message) {
    if (!ok) throw error(spec, message);
  }

  /** The value of a step that only checks or parses option values; its IllegalArgumentException is bad usage. */
  static <T> T check(CommandSpec spec, Supplier<T> step) {
    try {
      return step.get();
    } catch (IllegalArgumentException e) {
      throw error(spec, e.getMessage());
    }
  }
}
