package dev.mha2mla.pipeline;

import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Utterance;
import dev.mha2mla.eval.bench.NativeMemory;
import dev.mha2mla.eval.bench.Timing;
import dev.mha2mla.eval.bench.TimingHarness;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RunInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Speed and memory of whole-utterance recognition with one model folder: per utterance, the median of
 * {@code repeats} timed transcriptions after a warm-up; the real-time factor is latency / audio length.
 * Peak native memory is measured around the longest utterance. Writes {@code *_benchmark.json}.
 */
public final class RecognizerBenchmark implements Pipeline.ModelBenchmark {
  private final TimingHarness harness;

  public RecognizerBenchmark(TimingHarness harness) {
    this.harness = harness;
  }

  /** One timed utterance. */
  public record UtteranceTiming(String id, double audioSeconds, Timing latency, double realTimeFactor) {}

  /** The *_benchmark.json document. */
  public record Report(RunInfo run, String model, String dataset, String device, int warmup, int repeats,
      BenchmarkSummary summary, NativeMemory.Peak memory, List<UtteranceTiming> utterances) {}

  @Override
  public BenchmarkSummary run(Path modelDir, Dataset data, String device, Path outJson) throws IOException {
    if (data.size() == 0) throw new IllegalArgumentException(data.name() + ": nothing to benchmark");
    try (SpeechRecognizer asr = SpeechRecognizer.open(modelDir, device)) {
      int rate = asr.normalizer().samplingRate();
      List<UtteranceTiming> rows = new ArrayList<>();
      float[] longest = new float[0];
      for (Utterance u : data.utterances()) {
        float[] samples = u.readSamples(rate);
        if (samples.length > longest.length) longest = samples;
        Timing t = harness.time(() -> asr.transcribe(samples));
        double seconds = samples.length / (double) rate;
        rows.add(new UtteranceTiming(u.id(), seconds, t, t.medianSeconds() / seconds));
      }
      float[] peakInput = longest;
      NativeMemory.Peak peak = NativeMemory.supported() ? NativeMemory.measure(() -> asr.transcribe(peakInput)) : null;
      double[] rtf = rows.stream().mapToDouble(UtteranceTiming::realTimeFactor).sorted().toArray();
      long cacheBytes = 4 * asr.model().cacheFloatsPerFrame() / asr.model().config().numHiddenLayers();
      BenchmarkSummary summary = new BenchmarkSummary(Timing.quantile(rtf, 0.5),
          Timing.quantile(rtf, 0.75) - Timing.quantile(rtf, 0.25), peak == null ? -1 : peak.increaseBytes(), cacheBytes,
          rows.stream().mapToDouble(UtteranceTiming::audioSeconds).toArray(),
          rows.stream().mapToDouble(r -> r.latency().medianSeconds()).toArray());
      Json.write(outJson, new Report(RunInfo.capture(device), modelDir.toString(), data.name(), device, harness.warmup(),
          harness.repeats(), summary, peak, rows));
      return summary;
    }
  }
}
