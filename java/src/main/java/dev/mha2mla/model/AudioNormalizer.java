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
 */
public record AudioNormalizer(int samplingRate, boolean doNormalize, float paddingValue) {
  public static final AudioNormalizer DEFAULT = new AudioNormalizer(16000, true, 0f);

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
    return new AudioNormalizer(rate, n.path("do_normalize").asBoolean(true), (float) n.path("padding_value").asDouble(0.0));
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
}
