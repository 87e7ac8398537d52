package dev.mha2mla.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What HuggingFace's Wav2Vec2FeatureExtractor does to a waveform ({@code preprocessor_config.json}):
 * with do_normalize, x' = (x - mean) / sqrt(var + 1e-7) over the utterance's real samples (population
 * variance; computed in float64, rounded to float32). Batches are right-padded with padding_value.
 *
 * <p>{@code streamStatistics} are the fixed statistics a stream of a do_normalize model normalises with (null when the
 * folder records none; see {@link WaveformStatistics}); a model without do_normalize streams its raw samples, exactly
 * as its full pass reads them.
 */
public record AudioNormalizer(int samplingRate, boolean doNormalize, float paddingValue, WaveformStatistics streamStatistics) {
  public static final AudioNormalizer DEFAULT = new AudioNormalizer(16000, true, 0f, null);
  /** The key of preprocessor_config.json that holds {@code {"mean": m, "std": s}} for streams. */
  public static final String STREAM_STATISTICS_KEY = "stream_normalization";

  public AudioNormalizer(int samplingRate, boolean doNormalize, float paddingValue) {
    this(samplingRate, doNormalize, paddingValue, null);
  }

  public static AudioNormalizer read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) return DEFAULT;
    JsonNode n;
    try {
      n = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new UnsupportedModelException(file + ": not valid JSON (" + e.getMessage() + ")");
    }
    int rate = n.path("sampling_rate").asInt(16000);
    if (rate <= 0) throw new UnsupportedModelException(file + ": sampling_rate must be positive");
    WaveformStatistics stream = null;
    JsonNode s = n.get(STREAM_STATISTICS_KEY);
    if (s != null && !s.isNull()) {
      if (!s.path("mean").isNumber() || !s.path("std").isNumber()) {
        throw new UnsupportedModelException(file + ": " + STREAM_STATISTICS_KEY + " must be {\"mean\": number, \"std\": number}");
      }
      try {
        stream = new WaveformStatistics(s.get("mean").asDouble(), s.get("std").asDouble());
      } catch (IllegalArgumentException e) {
        throw new UnsupportedModelException(file + ": " + STREAM_STATISTICS_KEY + ": " + e.getMessage());
      }
    }
    return new AudioNormalizer(rate, n.path("do_normalize").asBoolean(true), (float) n.path("padding_value").asDouble(0.0),
        stream);
  }

  public float[] normalize(float[] samples) {
    if (!doNormalize) return samples.clone();
    double mean = 0;
    for (float s : samples) mean += s;
    mean /= Math.max(1, samples.length);
    double var = 0;
    for (float s : samples) var += (s - mean) * (s - mean);
    var /= Math.max(1, samples.length);
    double scale = 1.0 / Math.sqrt(var + 1e-7);
    float[] out = new float[samples.length];
    for (int i = 0; i < samples.length; i++) out[i] = (float) ((samples[i] - mean) * scale);
    return out;
  }

  /**
   * The statistics a stream of this model normalises with: null (raw samples) for a model without do_normalize, which
   * was trained on raw samples whatever {@code given} says; else {@code given} if not null, else the recorded ones.
   *
   * @throws IllegalArgumentException for a do_normalize model with neither
   */
  public WaveformStatistics forStream(WaveformStatistics given, Object model) {
    if (!doNormalize) return null;
    if (given != null) return given;
    if (streamStatistics != null) return streamStatistics;
    throw new IllegalArgumentException(model + ": the model normalises each whole utterance (do_normalize), which a live "
        + "stream cannot do before the utterance ends, and its preprocessor_config.json records no fixed statistics ("
        + STREAM_STATISTICS_KEY + "); give them (StreamOptions.withNormalization, CLI --stream-normalization MEAN,STD: the "
        + "mean and standard deviation of the samples of its training audio), or stream a model fine-tuned with "
        + "'finetune --streaming'");
  }

  /** This normaliser reading raw samples (do_normalize off), as after {@link FeatureEncoder#foldNormalization}. */
  public AudioNormalizer withoutNormalization() {
    return new AudioNormalizer(samplingRate, false, paddingValue, null);
  }
}
