package dev.mha2mla.model;

/**
 * Fixed waveform statistics: every sample is normalised as x' = (x - mean) / std with the same two numbers.
 * HuggingFace's {@code do_normalize} uses each whole utterance's own mean and variance, which a live stream cannot know
 * before the utterance ends; with fixed statistics a stream's input no longer depends on how much audio it has seen,
 * nor on how the audio was cut into pieces. Measured once over a training set ({@link Accumulator}: the mean and the
 * population standard deviation of all its samples, in float64) and kept with the model
 * ({@code preprocessor_config.json}, {@code "stream_normalization"}) or folded into its first convolution
 * ({@link FeatureEncoder#foldNormalization}).
 */
public record WaveformStatistics(double mean, double std) {
  public WaveformStatistics {
    if (!Double.isFinite(mean) || !Double.isFinite(std) || !(std > 0)) {
      throw new IllegalArgumentException("waveform statistics need a finite mean and a positive, finite standard deviation, "
          + "got mean " + mean + ", std " + std);
    }
  }

  /** x' = (x - mean) / std, sample by sample, rounded to float32. */
  public float[] apply(float[] samples) {
    float[] out = new float[samples.length];
    double scale = 1.0 / std;
    for (int i = 0; i < samples.length; i++) out[i] = (float) ((samples[i] - mean) * scale);
    return out;
  }

  /** Parses "MEAN,STD" (the CLI's --stream-normalization). */
  public static WaveformStatistics parse(String text) {
    String[] parts = text.split(",");
    if (parts.length != 2) throw new IllegalArgumentException("expected MEAN,STD (two numbers), got '" + text + "'");
    try {
      return new WaveformStatistics(Double.parseDouble(parts[0].trim()), Double.parseDouble(parts[1].trim()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("expected MEAN,STD (two numbers), got '" + text + "'");
    }
  }

  /** Sums over samples for the pooled mean and population variance. Not thread safe. */
  public static final class Accumulator {
    private long count;
    private double sum;
    private double sumOfSquares;

    /** Adds one utterance: its own sums first, so that a set split over processes sums to the same bits. */
    public void add(float[] samples) {
      double s = 0;
      double q = 0;
      for (float x : samples) {
        s += x;
        q += (double) x * x;
      }
      add(samples.length, s, q);
    }

    /** Adds the sums of {@code count} samples measured elsewhere (as {@link #add(float[])} would have). */
    public void add(long count, double sum, double sumOfSquares) {
      this.count += count;
      this.sum += sum;
      this.sumOfSquares += sumOfSquares;
    }

    public long count() {
      return count;
    }

    public double sum() {
      return sum;
    }

    public double sumOfSquares() {
      return sumOfSquares;
    }

    /** The statistics of every sample added; fails if there were none or all were equal. */
    public WaveformStatistics result() {
      if (count == 0) throw new IllegalStateException("no samples to measure waveform statistics on");
      double mean = sum / count;
      double variance = Math.max(0, sumOfSquares / count - mean * mean);
      if (!(variance > 0)) throw new IllegalStateException("the samples are all equal (variance 0): no statistics to normalise with");
      return new WaveformStatistics(mean, Math.sqrt(variance));
    }
  }
}
