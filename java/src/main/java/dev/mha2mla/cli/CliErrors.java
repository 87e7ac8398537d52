package dev.mha2mla.cli;

import dev.mha2mla.distributed.DistributedException;
import dev.mha2mla.model.UnsupportedModelException;
import dev.mha2mla.train.IncompatibleOptionsException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns failures into one readable line on stderr and exit code 1 (2 for options that do not fit the model or run);
 * bugs keep their stack trace, and {@code --verbose} (accepted by every command) adds it to every error.
 */
final class CliErrors implements IExecutionExceptionHandler {
  @Override
  public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) {
    String message;
    boolean bug = !(e instanceof IOException || e instanceof UnsupportedModelException
        || e instanceof IllegalArgumentException || e instanceof IncompatibleOptionsException
        || e instanceof DistributedException);
    if (bug || verbose(parsed)) {
      e.printStackTrace(cmd.getErr());
    }
    if (e instanceof IncompatibleOptionsException) {
      cmd.getErr().println("mha2mla " + cmd.getCommandName() + ": error: " + e.getMessage());
      return 2;
    }
    if (e instanceof NoSuchFileException nsf) {
      message = nsf.getMessage() != null && nsf.getMessage().contains(":") ? nsf.getMessage() : "no such file: " + nsf.getFile();
    } else if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() == null) {
      // the JDK's message for these is the bare path: say what happened to it
      String what = e instanceof java.nio.file.AccessDeniedException ? "permission denied"
          : e instanceof java.nio.file.FileAlreadyExistsException ? "already exists"
          : e instanceof java.nio.file.NotDirectoryException ? "not a folder"
          : e instanceof java.nio.file.DirectoryNotEmptyException ? "folder not empty"
          : e.getClass().getSimpleName();
      message = fs.getFile() + ": " + what + (fs.getOtherFile() != null ? " (" + fs.getOtherFile() + ")" : "");
    } else if (!bug) {
      message = e.getMessage();
    } else {
      message = "internal error: " + e;
    }
    cmd.getErr().println("mha2mla " + cmd.getCommandName() + ": error: " + message);
    return 1;
  }

  // --verbose may follow "mha2mla" or any subcommand
  private static boolean verbose(ParseResult parsed) {
    for (ParseResult p = parsed; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption("--verbose")) {
        return true;
      }
    }
    return false;
  }
}
