package dev.mha2mla.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A well-formed audio file in an encoding this library does not decode (stereo, 24-bit, float,
 * compressed). The message names the file, what it holds and a command that converts it.
 */
public class UnsupportedAudioException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;

  public UnsupportedAudioException(Path file, String problem) {
    super(file + ": " + problem);
    this.file = file;
  }

  /** The file that was being read. */
  public Path file() {
    return file;
  }
}
