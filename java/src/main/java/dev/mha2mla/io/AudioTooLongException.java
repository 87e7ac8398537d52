package dev.mha2mla.io;

import java.nio.file.Path;

/**
 * An audio file longer than one call transcribes ({@link AudioLimits#MAX_SECONDS}). Raised from the header, before
 * the samples are read, so refusing a 10-hour file costs no memory.
 */
public class AudioTooLongException extends UnsupportedAudioException {
  private static final long serialVersionUID = 1L;

  public AudioTooLongException(Path file, String problem) {
    super(file, problem);
  }
}
