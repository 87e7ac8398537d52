package dev.mha2mla.data;

import dev.mha2mla.io.AudioLimits;
import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.WavAudio;
import dev.mha2mla.io.WavReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Audio inputs named on a command line: an audio file, a folder (every *.wav and *.flac below it, sorted by
 * path), or a manifest (*.tsv, one {@code path<TAB>transcript} per line, paths relative to the manifest).
 * Files ending in .flac are decoded as FLAC ({@link FlacReader}), all others as WAV; both must be 16-bit mono.
 */
public final class AudioFiles {
  private AudioFiles() {}

  public static List<Path> list(Path source) throws IOException {
    if (Files.isDirectory(source)) {
      try (Stream<Path> walk = Files.walk(source)) {
        return walk.filter(p -> Files.isRegularFile(p) && isAudio(p)).sorted().toList();
      }
    }
    if (!Files.isRegularFile(source)) throw new NoSuchFileException(source + ": no such audio file, folder or manifest");
    if (source.getFileName().toString().toLowerCase().endsWith(".tsv")) {
      List<Path> out = new ArrayList<>();
      int lineNo = 0;
      for (String line : Files.readAllLines(source)) {
        lineNo++;
        if (line.isBlank()) continue;
        String path = line.split("\t", 2)[0];
        Path p = Datasets.manifestPath(source, lineNo, path, false);
        if (!Files.isRegularFile(p)) throw new NoSuchFileException(source + ":" + lineNo + ": audio file " + path + " does not exist");
        out.add(p);
      }
      return out;
    }
    return List.of(source);
  }

  /** Whether the name ends in .wav or .flac (any case). */
  public static boolean isAudio(Path file) {
    String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
    return name.endsWith(".wav") || name.endsWith(".flac");
  }

  /**
   * Decodes a WAV or FLAC file (by its extension). Refuses, naming the file: a folder, audio longer than
   * {@link AudioLimits#MAX_SECONDS} (from the header, before decoding), and a file with no samples.
   */
  public static WavAudio decode(Path file) throws IOException {
    if (Files.isDirectory(file)) {
      throw new IOException(file + ": is a folder, not an audio file; name the .wav or .flac files in it"
          + " (or evaluate the folder with 'mha2mla evaluate --data')");
    }
    WavAudio audio = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".flac")
        ? FlacReader.read(file) : WavReader.read(file);
    if (audio.samples().length == 0) throw new MalformedFileException(file, "holds no audio samples (0 s of audio)");
    return audio;
  }

  /** Reads a WAV or FLAC file and checks its sample rate: resampling is not done here. */
  public static float[] read(Path file, int expectedRate) throws IOException {
    WavAudio wav = decode(file);
    if (wav.sampleRate() != expectedRate) {
      throw new IllegalArgumentException(file + ": sample rate is " + wav.sampleRate() + " Hz but the model expects "
          + expectedRate + " Hz; resample first, e.g. sox " + file + " -r " + expectedRate + " out."
          + (file.toString().toLowerCase(java.util.Locale.ROOT).endsWith(".flac") ? "flac" : "wav"));
    }
    return wav.samples();
  }
}
