package dev.mha2mla.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the command line in this JVM, as the tests do, and keeps its exit code and what it wrote to stderr. */
public record CliRun(int code, String stderr) {
  public static CliRun of(String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream saved = System.err;
    int code;
    try {
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      code = Main.run(args);
    } finally {
      System.setErr(saved);
    }
    return new CliRun(code, err.toString(StandardCharsets.UTF_8));
  }
}
