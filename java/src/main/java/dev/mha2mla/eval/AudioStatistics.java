package dev.mha2mla.eval;

import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Utterance;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;

/** Fixed waveform statistics measured over a dataset: the mean and standard deviation of all its samples. */
public final class AudioStatistics {
  private AudioStatistics() {}

  public static WaveformStatistics of(Dataset dataset, int samplingRate) throws IOException {
    WaveformStatistics.Accumulator acc = new WaveformStatistics.Accumulator();
    for (Utterance u : dataset.utterances()) acc.add(u.readSamples(samplingRate));
    if (acc.count() == 0) throw new IllegalArgumentException(dataset.name() + ": no audio to measure waveform statistics on");
    try {
      return acc.result();
    } catch (IllegalStateException e) {
      throw new IllegalArgumentException(dataset.name() + ": " + e.getMessage());
    }
  }
}
