package dev.mha2mla.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * One utterance of a dataset: an id, its audio file (WAV or FLAC, 16-bit mono) and its transcript,
 * normalised by {@link TextNormalizer} (upper-case letters, apostrophe, single spaces; empty when the
 * dataset has no transcripts). Samples are read only when asked for.
 */
public record Utterance(String id, Path audio, String transcript) {
  /** The samples at {@code expectedRate} Hz as floats in [-1, 1); any other rate is an error naming the file. */
  public float[] readSamples(int expectedRate) throws IOException {
    return AudioFiles.read(audio, expectedRate);
  }
}
