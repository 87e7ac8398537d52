package dev.mha2mla.eval.bench;

import dev.mha2mla.data.Dataset;
import dev.mha2mla.io.RunInfo;
import dev.mha2mla.model.LatentAttention;
import dev.mha2mla.model.AttentionBackend;
import dev.mha2mla.model.AudioNormalizer;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.ConformerLayer;
import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.model.Devices;
import dev.mha2mla.model.MultiHeadAttention;
import dev.mha2mla.kernels.TorchTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Speed and memory of a model folder, audio in, logits out, with the plain {@link TimingHarness}: for each input,
 * warm-up passes, timed passes (median and quartiles), then one pass under {@link NativeMemory}. The inputs are
 * random audio of set lengths ({@link #run}, behind {@code mha2mla benchmark}; speed does not depend on what is
 * said) or the utterances of a dataset, one at a time ({@link #runOn}, the pipeline's benchmark step). Both write
 * the same {@link BenchmarkReport}.
 */
public final class ModelBenchmark {
  /** One GiB of cache at a 30 s (1500-frame) window: the budget the reports count streams against. */
  public static final long BUDGET_BYTES = 1L << 30;
  public static final long WINDOW_FRAMES = 1500;

  /**
   * @param device "cpu", "cuda" or "cuda:N"
   * @param seconds audio lengths to time, seconds per utterance ({@link #run}; unused by {@link #runOn})
   * @param threads CPU threads (0 = the free cores, adapted before each pass: see CpuThreads)
   * @param latentForm for MLA models: EXPANDED (full utterances' best) or ABSORBED
   * @param ceilings also measure the machine's copy bandwidth and matmul rate (CPU only)
   */
  public record Options(String device, List<Double> seconds, int batchSize, int warmup, int repeats, int threads,
      AttentionBackend backend, LatentAttention.Form latentForm, boolean ceilings) {
    public Options {
      for (double s : seconds) if (!(s > 0)) throw new IllegalArgumentException("audio lengths must be positive seconds, got " + s);
      if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
      new TimingHarness(warmup, repeats);
    }
  }

  private final Options options;
  private final Consumer<String> progress;

  public ModelBenchmark(Options options, Consumer<String> progress) {
    this.options = options;
    this.progress = progress == null ? s -> {} : progress;
  }

  /** Random audio of each of {@code options.seconds()} lengths, {@code options.batchSize()} rows per pass. */
  public BenchmarkReport run(Path modelDir) throws IOException {
    if (options.seconds().isEmpty()) throw new IllegalArgumentException("give at least one audio length");
    return measure(modelDir, null, options.seconds(), s -> {
      long samples = Math.round(s * SAMPLING_RATE);
      torch.manual_seed(7);
      // normalised audio has zero mean and unit variance: draw it so
      return new Input(null, samples, TorchTensors.keep(torch.randn(options.batchSize(), samples)));
    });
  }

  /**
   * Each utterance of {@code utterances} (read at the model's sampling rate and normalised as its
   * preprocessor_config.json says), one per pass, read when its turn comes: the timings of real inputs, e.g. the
   * pipeline's test split.
   */
  public BenchmarkReport runOn(Path modelDir, Dataset utterances) throws IOException {
    if (utterances.size() == 0) throw new IllegalArgumentException(utterances.name() + ": nothing to benchmark");
    AudioNormalizer normalizer = AudioNormalizer.read(modelDir.resolve("preprocessor_config.json"));
    if (normalizer.samplingRate() != SAMPLING_RATE) {
      throw new IllegalArgumentException(modelDir + ": the benchmark reads audio at " + SAMPLING_RATE + " Hz, the model wants "
          + normalizer.samplingRate());
    }
    return measure(modelDir, utterances.name(), utterances.utterances(), u -> {
      float[] x = normalizer.normalize(u.readSamples(SAMPLING_RATE));
      return new Input(u.id(), x.length, TorchTensors.keep(TorchTensors.floats(x, 1, x.length)));
    });
  }

  private static final int SAMPLING_RATE = 16000;

  /** One timed input: {@code audio} [rows, samples], normalised; the caller closes it. */
  private record Input(String utterance, long samples, Tensor audio) {}

  @FunctionalInterface
  private interface InputMaker<T> {
    Input make(T item) throws IOException;
  }

  private <T> BenchmarkReport measure(Path modelDir, String dataset, Iterable<T> items, InputMaker<T> inputs)
      throws IOException {
    Device device = Devices.parse(options.device());
    boolean cuda = device != null;
    int threads = options.threads() > 0 ? CpuThreads.configure(options.threads()) : CpuThreads.configureAdaptive();
    boolean adaptiveThreads = CpuThreads.isAdaptive();
    BenchmarkReport.Machine machine = null;
    if (options.ceilings() && !cuda) {
      progress.accept("measuring copy bandwidth and matmul rate");
      try (MachineCeilings m = new MachineCeilings()) {
        machine = m.measure(new TimingHarness(1, 5));
      }
    }
    try (ConformerCtcModel model = ConformerCtcModel.load(modelDir, device)) {
      ConformerConfig config = model.config();
      model.setAttentionBackend(options.backend());
      for (ConformerLayer layer : model.encoder().layers()) {
        if (layer.attention() instanceof LatentAttention la) la.setForm(options.latentForm());
      }
      TimingHarness harness = new TimingHarness(options.warmup(), options.repeats());
      List<BenchmarkReport.Length> lengths = new ArrayList<>();
      double loadBefore = loadAverage();
      for (T item : items) {
        Input in = inputs.make(item);
        try (Tensor audio = in.audio()) {
          long rows = audio.size(0);
          long frames = model.featureEncoder().frames(in.samples());
          String what = in.utterance() == null ? "" : in.utterance() + ": ";
          if (frames < 1) {
            throw new IllegalArgumentException(what + in.samples() / (double) SAMPLING_RATE + " s of audio is shorter than one frame of this model ("
                + model.featureEncoder().minimumSamples() + " samples)");
          }
          progress.accept(String.format("%s%.1f s of audio (%d frames), batch %d", what, in.samples() / (double) SAMPLING_RATE,
              frames, rows));
          Runnable pass = () -> {
            ConformerCtcModel.Output out = model.forward(audio, null, null);
            if (cuda) out.logits().sum().item_double(); // waits for the GPU
          };
          Timing t = harness.time(pass);
          int threadsUsed = torch.get_num_threads();
          Long peak = null;
          Long increase = null;
          String method = null;
          if (!cuda && NativeMemory.supported()) {
            NativeMemory.Peak p = NativeMemory.measure(() -> TimingHarness.once(pass));
            peak = p.peakBytes();
            increase = p.increaseBytes();
            method = p.method();
          }
          double audioSeconds = (double) in.samples() / SAMPLING_RATE;
          double rtf = t.medianSeconds() / (rows * audioSeconds);
          lengths.add(new BenchmarkReport.Length(in.utterance(), audioSeconds, in.samples(), frames, t.medianSeconds(),
              t.q1Seconds(), t.q3Seconds(), t.iqrSeconds(), t.samples(), rtf, 1000 * rtf, peak, increase, method, threadsUsed));
        }
      }
      BenchmarkReport.Cache cache = cache(model);
      BenchmarkReport.Summary summary = summarise(lengths, cache.bytesPerFramePerLayer(), loadBefore, loadAverage());
      int batch = dataset == null ? options.batchSize() : 1;
      return new BenchmarkReport(modelDir.toAbsolutePath().normalize().toString(), dataset, config.isMla() ? "mla" : "mha",
          config.isMla() ? config.mla().latentDims() : null, config.hiddenSize(), config.numHiddenLayers(),
          config.numAttentionHeads(), options.device(), threads, adaptiveThreads,
          options.backend().name().toLowerCase(),
          config.isMla() ? options.latentForm().name().toLowerCase() : null, batch, options.warmup(),
          options.repeats(), summary, cache, machine, lengths, RunInfo.capture(options.device()));
    }
  }

  /** The system's one-minute load average, or -1 where the platform has none. */
  static double loadAverage() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  /** Median and spread of the real-time factor over the lengths; peaks over the lengths; the load around the runs. */
  static BenchmarkReport.Summary summarise(List<BenchmarkReport.Length> lengths, long cacheBytesPerFramePerLayer,
      double loadBefore, double loadAfter) {
    double[] rtf = lengths.stream().mapToDouble(BenchmarkReport.Length::realTimeFactor).sorted().toArray();
    long increase = -1;
    long peak = -1;
    for (BenchmarkReport.Length l : lengths) {
      if (l.peakMemoryIncreaseBytes() != null) increase = Math.max(increase, l.peakMemoryIncreaseBytes());
      if (l.peakMemoryBytes() != null) peak = Math.max(peak, l.peakMemoryBytes());
    }
    double median = Timing.quantile(rtf, 0.5);
    return new BenchmarkReport.Summary(median, Timing.quantile(rtf, 0.75) - Timing.quantile(rtf, 0.25), increase,
        cacheBytesPerFramePerLayer, lengths.stream().mapToDouble(BenchmarkReport.Length::audioSeconds).toArray(),
        lengths.stream().mapToDouble(BenchmarkReport.Length::medianSeconds).toArray(), 1000 * median, peak, loadBefore,
        loadAfter);
  }

  /** The cache a streaming decoder of {@code model} keeps, from its blocks' {@code cacheFloatsPerFrame()}. */
  public static BenchmarkReport.Cache cache(ConformerCtcModel model) {
    ConformerConfig c = model.config();
    int layers = c.numHiddenLayers();
    long total = 4 * model.cacheFloatsPerFrame();
    long perLayer = total / layers;  // the layers' mean: MLA layers may differ in r
    long mhaPerLayer = 4 * 2L * c.hiddenSize();
    if (model.encoder().layers().get(0).attention() instanceof MultiHeadAttention m) mhaPerLayer = CacheBudget.bytesPerFrame(m);
    return new BenchmarkReport.Cache(perLayer, total, mhaPerLayer, (double) mhaPerLayer / perLayer, WINDOW_FRAMES,
        BUDGET_BYTES, BUDGET_BYTES / (total * WINDOW_FRAMES),
        CacheBudget.streamsWithin(BUDGET_BYTES, mhaPerLayer, layers, WINDOW_FRAMES));
  }
}
