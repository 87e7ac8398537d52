package dev.mha2mla.cli;

import dev.mha2mla.data.Datasets;
import dev.mha2mla.eval.AudioStatistics;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** The value of --stream-normalization: "MEAN,STD", or DATA whose samples give them. */
final class StreamNormalization {
  static final String HELP = "Fixed waveform statistics for streaming a model that normalises each utterance "
      + "(do_normalize): MEAN,STD, or DATA (e.g. the training set) to measure them on. Default: the ones the model's "
      + "preprocessor_config.json records.";

  private StreamNormalization() {}

  /** The statistics, or null when not given; a malformed value is a usage error (exit 2). */
  static WaveformStatistics parse(String value, int samplingRate, CommandSpec spec) throws IOException {
    if (value == null) return null;
    Path p = Path.of(value);
    if (Files.exists(p)) return AudioStatistics.of(Datasets.open(p), samplingRate);
    try {
      if (!value.contains(",")) throw new IllegalArgumentException("'" + value + "' is neither MEAN,STD nor an existing dataset");
      return WaveformStatistics.parse(value);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--stream-normalization: " + e.getMessage());
    }
  }
}
