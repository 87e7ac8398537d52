package dev.mha2mla.io;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The longest audio one call decodes and transcribes.
 *
 * <p>Why a limit: a whole utterance goes through the encoder in one forward pass, so its activations (and the
 * float logits returned) grow with the duration; a 30-minute file needs more than 16 GB with the shipped small
 * model, and past the memory there is only the allocator's failure deep in native code. Refusing from the header
 * instead names the file and costs nothing.
 */
public final class AudioLimits {
  /**
   * Most seconds of audio per file or per utterance (5 minutes). Peak RSS of {@code mha2mla transcribe} on one
   * 16 kHz WAV file (JVM, weights and native memory together; {@code /usr/bin/time -v}, CPU, default native
   * attention):
   * <pre>
   *                               30 s     60 s     120 s    300 s
   *   conformer-tiny            0.34 GB  0.41 GB  0.61 GB  1.05 GB
   *   conformer-small-synthetic 0.61 GB  0.93 GB  1.56 GB  3.51 GB
   * </pre>
   * i.e. RSS = about 0.3 GB + k * seconds, k = 2.5 MB/s (tiny) and 10.7 MB/s (small; 144 hidden, 4 layers), linear
   * because the fused attention kernels tile the T x T scores instead of materialising them. At 300 s the small model
   * stays under 4 GB; batches of B utterances cost about B times one utterance's share.
   */
  public static final int MAX_SECONDS = 300;

  private AudioLimits() {}

  /** The most samples one call takes at {@code sampleRate} Hz. */
  public static long maxSamples(int sampleRate) {
    return (long) MAX_SECONDS * sampleRate;
  }

  /** Throws, naming the file, its duration and the limit, when {@code samples} at {@code sampleRate} is too long. */
  public static void check(Path file, long samples, int sampleRate) throws AudioTooLongException {
    if (sampleRate > 0 && samples > maxSamples(sampleRate)) throw tooLong(file, samples, sampleRate);
  }

  static AudioTooLongException tooLong(Path file, long samples, int sampleRate) {
    return new AudioTooLongException(file, describe(samples, sampleRate) + " is longer than the " + MAX_SECONDS
        + " s that one call transcribes; cut it into pieces first, e.g. sox in.wav part.wav trim 0 " + MAX_SECONDS
        + " : newfile : restart");
  }

  /** "1800.0 s of audio (28800000 samples at 16000 Hz)". */
  public static String describe(long samples, int sampleRate) {
    return String.format(Locale.ROOT, "%.1f s of audio (%d samples at %d Hz)", (double) samples / sampleRate, samples,
        sampleRate);
  }
}
