package dev.mha2mla.io;

import java.util.Arrays;

/**
 * Decoded mono audio: samples in [-1, 1), each the 16-bit PCM value divided by 32768 (what
 * soundfile and the HuggingFace feature extractor produce). The array is not copied: do not
 * modify it while others hold the record.
 */
public record WavAudio(int sampleRate, int channels, int bitsPerSample, float[] samples) {

  /** Length in seconds. */
  public double durationSeconds() {
    return (double) samples.length / sampleRate;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WavAudio w && sampleRate == w.sampleRate && channels == w.channels
        && bitsPerSample == w.bitsPerSample && Arrays.equals(samples, w.samples);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * sampleRate + channels) + bitsPerSample) + Arrays.hashCode(samples);
  }

  @Override
  public String toString() {
    return "WavAudio[" + samples.length + " samples, " + sampleRate + " Hz, " + channels + " channel(s), "
        + bitsPerSample + "-bit]";
  }
}
