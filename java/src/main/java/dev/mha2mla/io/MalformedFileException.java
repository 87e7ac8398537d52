package dev.mha2mla.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file exists and was read, but its content breaks the rules of its format (or asks for
 * something this library refuses to do, such as a pickle calling an unlisted function).
 * The message starts with the file, then says what is wrong: {@code "model.safetensors: tensor 'x'
 * declares 4096 bytes but shape [32, 64] F32 needs 8192"}.
 */
public class MalformedFileException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final String problem;

  public MalformedFileException(Path file, String problem) {
    super(file + ": " + problem);
    this.file = file;
    this.problem = problem;
  }

  public MalformedFileException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
    this.file = file;
    this.problem = problem;
  }

  /** The file that was being read. */
  public Path file() {
    return file;
  }

  /** The message without the file name. */
  public String problem() {
    return problem;
  }
}
