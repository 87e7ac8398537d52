package dev.mha2mla.benchmarks;

import dev.mha2mla.RecognizerStream;
import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.StreamOptions;
import dev.mha2mla.model.StreamingCacheKind;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A whole model streaming a recording, as {@code mha2mla stream} and {@code evaluate --stream-chunk} do: {@code seconds}
 * of audio fed one chunk of samples at a time to a new {@link RecognizerStream} with chunks of {@code chunk} frames and
 * 512 frames of left context, then finished. An MLA model streams over its latent cache, an MHA model over K/V. One
 * call is one recording, so its time divided by {@code seconds} is the stream's real-time factor. The audio is seeded
 * noise at speech level: greedy CTC decoding costs the same whatever it hears.
 */
public class StreamedModelBenchmark extends WorkloadBenchmark<StreamedModelBenchmark.Recording> {
  /** The folder holding the shipped models. */
  @Param("models")
  public String models;

  /** A model folder under {@link #models}. */
  @Param({"conformer-small-synthetic", "conformer-small-synthetic-mla-streaming"})
  public String model;

  @Param({"1", "16"})
  public int chunk;

  @Param("10")
  public int seconds;

  @Override
  protected Recording createWorkload() throws IOException {
    return new Recording(SpeechRecognizer.open(Path.of(models, model)), chunk, seconds);
  }

  @Benchmark
  public void stream(Blackhole bh) {
    timed(bh, work::stream);
  }

  /** The recognizer and the recording; closing frees the model. */
  public static final class Recording implements AutoCloseable {
    private final SpeechRecognizer asr;
    private final StreamOptions options;
    private final float[] audio;
    private final int piece;

    Recording(SpeechRecognizer asr, int chunk, int seconds) {
      this.asr = asr;
      this.options = new StreamOptions(chunk, 512,
          asr.model().hasLatent() ? StreamingCacheKind.LATENT : StreamingCacheKind.KEY_VALUE);
      int rate = asr.normalizer().samplingRate();
      SplittableRandom random = new SplittableRandom(42);
      audio = new float[rate * seconds];
      for (int i = 0; i < audio.length; i++) audio[i] = (float) (0.1 * random.nextGaussian());
      piece = Math.toIntExact(chunk * asr.model().featureEncoder().totalStride());
    }

    String stream() {
      try (RecognizerStream s = asr.openStream(options)) {
        for (int start = 0; start < audio.length; start += piece) {
          s.accept(Arrays.copyOfRange(audio, start, Math.min(audio.length, start + piece)));
        }
        return s.finish().text();
      }
    }

    @Override
    public void close() {
      asr.close();
    }
  }
}
