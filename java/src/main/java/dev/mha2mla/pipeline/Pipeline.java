package dev.mha2mla.pipeline;

import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.StreamOptions;
import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Datasets;
import dev.mha2mla.data.Utterance;
import dev.mha2mla.data.synth.CorpusPlan;
import dev.mha2mla.data.synth.SpeechTools;
import dev.mha2mla.data.synth.SyntheticCorpus;
import dev.mha2mla.eval.EvaluationReport;
import dev.mha2mla.eval.OutOfVocabulary;
import dev.mha2mla.eval.Evaluator;
import dev.mha2mla.eval.bench.BenchmarkReport;
import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RunInfo;
import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.mla.ConversionOptions;
import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.model.LatentAttention;
import dev.mha2mla.mla.MlaConverter;
import dev.mha2mla.model.AttentionBackend;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.eval.AudioStatistics;
import dev.mha2mla.model.AudioNormalizer;
import dev.mha2mla.model.StreamingCacheKind;
import dev.mha2mla.model.WaveformStatistics;
import dev.mha2mla.train.FinetuneOptions;
import dev.mha2mla.train.IncompatibleOptionsException;
import dev.mha2mla.train.StreamingTraining;
import dev.mha2mla.train.Trainer;
import dev.mha2mla.train.TrainingResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The six steps: convert, evaluate the MHA baseline, evaluate the converted MLA model, fine-tune it (by default
 * chunk-aware, so that it streams: {@link StreamingTraining}), evaluate the fine-tuned model, write the comparison
 * report. Each evaluation scores whole utterances and, again, the same audio decoded as live streams at every chunk
 * size of {@link PipelineOptions#streamChunks()} (MHA models over a K/V cache, MLA models over their latent cache),
 * then times the model. Streams of a model that normalises each utterance use fixed waveform statistics: those the
 * source model records, else those of the training data ({@code data/waveform_statistics.json}); the streaming
 * fine-tune folds the same ones into its model. Each step's result is a file written atomically into the results
 * folder; a rerun skips every step whose result exists and redoes the one that was interrupted (fine-tuning resumes
 * from its checkpoint).
 */
public final class Pipeline {
  public static final String CONVERTED = "mla_converted";
  public static final String FINETUNED = "conformer_mla_finetuned";
  /** The options a results folder was made with ({@link #recorded}). */
  public static final String OPTIONS_FILE = "pipeline_options.json";
  /**
   * Words in a corpus the pipeline synthesises: the 200 most common of the embedded list, the vocabulary the
   * shipped default model was trained on (models/conformer-small-synthetic/MODEL.md).
   */
  static final int SYNTH_VOCABULARY = 200;

  private final PipelineOptions options;
  private final ModelBenchmark benchmark;
  private final Path results;
  private final Consumer<String> console;

  /** Measures one model's speed and memory and writes its benchmark JSON. */
  @FunctionalInterface
  public interface ModelBenchmark {
    BenchmarkReport.Summary run(Path modelDir, Dataset utterances, String device, Path outJson) throws IOException;

    /**
     * The harness of {@code mha2mla benchmark} ({@link dev.mha2mla.eval.bench.ModelBenchmark#runOn}) on the
     * utterances, one per pass: {@code warmup} untimed and {@code repeats} timed passes each, native kernels where
     * they loaded, MLA in expanded form; writes its {@link BenchmarkReport}.
     */
    static ModelBenchmark onUtterances(int warmup, int repeats) {
      return (modelDir, utterances, device, outJson) -> {
        dev.mha2mla.eval.bench.ModelBenchmark.Options o = new dev.mha2mla.eval.bench.ModelBenchmark.Options(device,
            List.of(), 1, warmup, repeats, 0, AttentionBackend.defaultBackend(), LatentAttention.Form.EXPANDED, false);
        BenchmarkReport report = new dev.mha2mla.eval.bench.ModelBenchmark(o, null).runOn(modelDir, utterances);
        Json.write(outJson, report);
        return report.summary();
      };
    }
  }

  private boolean allowOutsidePaths;

  public Pipeline(PipelineOptions options, ModelBenchmark benchmark, Consumer<String> console) {
    this.options = options;
    this.benchmark = benchmark;
    this.results = options.results();
    this.console = console;
  }

  public Path results() {
    return results;
  }

  /**
   * The options that decide what a results folder holds, resolved (the default latent size written as its value),
   * as written to {@link #OPTIONS_FILE}.
   */
  static Map<String, Object> recorded(PipelineOptions o, ConformerConfig source) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("preset", o.preset().name());
    m.put("model", o.model().toAbsolutePath().normalize().toString());
    m.put("train", o.train() == null ? null : o.train().toAbsolutePath().normalize().toString());
    m.put("valid", o.valid() == null ? null : o.valid().toAbsolutePath().normalize().toString());
    m.put("test", o.test() == null ? null : o.test().toAbsolutePath().normalize().toString());
    m.put("latent_dim", o.cacheBudget() == null ? o.latentDimOr(source.defaultLatentDim()) : null);
    m.put("cache_budget", o.cacheBudget());
    m.put("method", o.method().name().toLowerCase(java.util.Locale.ROOT));
    m.put("whiten", o.whiten());
    m.put("device", o.device());
    m.put("seed", o.seed());
    m.put("synth_count", o.synthCount());
    m.put("train_limit", o.trainLimit());
    m.put("eval_limit", o.evalLimit());
    m.put("benchmark_limit", o.benchmarkLimit());
    m.put("epochs", o.epochs());
    m.put("max_steps", o.maxSteps());
    m.put("batch_size", o.batchSize());
    m.put("learning_rate", o.learningRate());
    m.put("patience", o.patience());
    m.put("eval_every", o.evalEvery());
    m.put("streaming", o.streaming());
    m.put("stream_chunks", o.streamChunks());
    m.put("left_context", o.leftContext());
    return m;
  }

  /**
   * Records this run's options in a new results folder, or checks them against those the folder was made with: a
   * rerun skips every step whose file exists, so under other options it would report the old run as the new one.
   * Refused before anything is written.
   */
  static void claim(Path results, PipelineOptions o, ConformerConfig source) throws IOException {
    claim(results, OPTIONS_FILE, recorded(o, source), List.of("corpus", "data", CONVERTED, "conversion.json", FINETUNED));
  }

  /**
   * {@link #claim(Path, PipelineOptions, ConformerConfig)} for any run that records its options in {@code optionsFile}:
   * refused when the file holds other options, or is missing while one of {@code steps} exists.
   */
  static void claim(Path results, String optionsFile, Map<String, Object> recorded, List<String> steps) throws IOException {
    // through text, so that numbers compare as the file's parser reads them (a long seed reads back as an int)
    @SuppressWarnings("unchecked")
    Map<String, Object> ours = Json.MAPPER.readValue(Json.MAPPER.writeValueAsString(recorded), Map.class);
    Path file = results.resolve(optionsFile);
    if (Files.exists(file)) {
      @SuppressWarnings("unchecked")
      Map<String, Object> theirs = Json.read(file, Map.class);
      List<String> differences = new ArrayList<>();
      java.util.Set<String> keys = new java.util.LinkedHashSet<>(ours.keySet());
      keys.addAll(theirs.keySet());
      for (String k : keys) {
        if (!java.util.Objects.equals(ours.get(k), theirs.get(k))) {
          differences.add(k + ": " + theirs.get(k) + " there, " + ours.get(k) + " now");
        }
      }
      if (!differences.isEmpty()) {
        throw new IncompatibleOptionsException(results + " holds a run made with other options (" + optionsFile
            + "):\n  " + String.join("\n  ", differences) + "\nrerun with those options to finish it, or choose another --results");
      }
      return;
    }
    for (String step : steps) {
      if (Files.exists(results.resolve(step))) {
        throw new IncompatibleOptionsException(results + " holds a run that recorded no options (" + step
            + " exists, " + optionsFile + " does not): its options cannot be checked; choose another --results");
      }
    }
    Files.createDirectories(results);
    Json.write(file, ours);
  }

  /**
   * Whether the --train / --valid / --test manifests may name audio outside their own folders (default no). The
   * manifests the pipeline writes itself under data/ hold absolute paths and are always read as they are.
   */
  public Pipeline allowOutsidePaths(boolean allow) {
    this.allowOutsidePaths = allow;
    return this;
  }

  /** What will run, where, and roughly how long, before anything runs. */
  public String plan() throws IOException {
    ConformerConfig config = ConformerConfig.read(options.model().resolve("config.json"));
    String latent = options.cacheBudget() == null ? options.latentDimOr(config.defaultLatentDim()) + ""
        : String.format(java.util.Locale.ROOT, "%.1f on average (cache budget %s, ranks per layer)",
            options.cacheBudget() * 2 * config.hiddenSize(), options.cacheBudget());
    double params = estimateParameters(config);
    // rough, from runs on 2 cores with the shipped 2.1M-parameter model: per training utterance ~0.02 s per million
    // parameters for the attention scope (1920 utterances in 77 s), ~0.033 s for the streaming fine-tune's encoder
    // scope (0.55 s per batch of 8); ~0.05 s to score one utterance whole; a stream of chunk C computes for about
    // (0.2 / C + 0.01) s per second of audio, utterances ~2.5 s long
    double perUtterance = options.streaming() ? 0.033 : 0.02;
    double trainSeconds = options.trainBudgetUtterances() * perUtterance * params / 1e6;
    double scale = Math.max(1, params / 2.1e6);
    double streamFactor = options.streamChunks().stream().mapToDouble(c -> 0.2 / c + 0.01).sum();
    double evalSeconds = 3.0 * (options.testUtterances() + options.benchmarkLimit()) * 0.05 * scale
        + 3.0 * options.testUtterances() * 2.5 * streamFactor * scale;
    return String.format(
        "pipeline %s -> %s%n  model %s (%s, hidden %d, %d layers, ~%.1fM parameters) on %s%n"
            + "  convert MHA -> MLA: %s SVD, latent %s floats per frame per layer (MHA: %d)%s%n"
            + "  evaluate on %s (%s utterances), whole and streamed in chunks of %s frames (left context %d), "
            + "benchmark %d utterances per model%n"
            + "  fine-tune %s on %s (%s training utterances, up to %s updates, batch %d)%n"
            + "  estimated duration: ~%.0f min%n",
        options.preset().name(), results, options.model(), config.isMla() ? "MLA" : "MHA", config.hiddenSize(),
        config.numHiddenLayers(), params / 1e6, options.device(), options.method().name().toLowerCase(), latent,
        2 * config.hiddenSize(), options.whiten() ? " (whitened)" : "", options.testSource(),
        options.testUtterances() == 0 ? "all" : options.testUtterances(),
        String.join(",", options.streamChunks().stream().map(String::valueOf).toList()), options.leftContext(),
        options.benchmarkLimit(),
        options.streaming() ? "chunk-aware (scope " + StreamingTraining.DEFAULT_SCOPE.cliName() + ", chunks "
            + StreamingTraining.describe(StreamingTraining.DEFAULT_CHUNKS) + ")" : "attention", options.trainSource(),
        options.trainUtterances() == 0 ? "all" : options.trainUtterances(), options.maxSteps() == 0 ? "epoch-bound" : options.maxSteps(),
        options.batchSize(), (trainSeconds + evalSeconds + 60) / 60);
  }

  public PipelineResult run() throws IOException {
    try (CpuThreads.Pinned pinned = CpuThreads.pin()) {
      return runPinned();
    }
  }

  private PipelineResult runPinned() throws IOException {
    Files.createDirectories(results);
    // a run killed with -9 leaves the folder it was building (.corpus.tmp-PID-..., with .scratch inside)
    for (Path p : AtomicFiles.deleteAbandonedTemporaries(results)) log("removed " + p + ", left by a run that has ended");
    ConformerConfig source = ConformerConfig.read(options.model().resolve("config.json"));
    if (source.isMla()) {
      throw new IllegalArgumentException(options.model() + ": the pipeline starts from an MHA model; this one is already MLA");
    }
    claim(results, options, source);
    log("pipeline " + options.preset().name() + " started: " + RunInfo.capture(options.device()).commandLine());
    Data data = prepareData();
    WaveformStatistics streamStatistics = streamStatistics(data);

    Path converted = results.resolve(CONVERTED);
    step("1/6 convert MHA -> MLA", converted.resolve(MlaConverter.REPORT_FILE), () -> {
      int r = options.latentDimOr(source.defaultLatentDim());
      // calibration audio also when not whitening: it measures each layer's attention-output error
      // the audio files themselves: data/train.tsv names them by absolute path, outside its own folder
      List<Path> calibration = Datasets.open(data.train, true).limit(64).utterances().stream().map(Utterance::audio).toList();
      // without whitening the calibration audio only measures errors: K and V stay unscaled as well
      ConversionOptions co = ConversionOptions.builder(r, options.method()).whiten(options.whiten())
          .balance(options.whiten()).svdDevice(options.device()).calibration(calibration)
          .cacheBudget(options.cacheBudget()).build();
      new MlaConverter(co, null).convert(options.model(), converted, true);
    });
    copyIfAbsent(converted.resolve(MlaConverter.REPORT_FILE), results.resolve("conversion.json"));
    copyIfAbsent(converted.resolve("config.json"), results.resolve("mla_config.json"));

    evaluateAndBenchmark("2/6 MHA baseline", options.model(), "mha_baseline", data, streamStatistics);
    evaluateAndBenchmark("3/6 MLA converted", converted, "mla_converted", data, streamStatistics);

    Path finetuned = results.resolve(FINETUNED);
    step(options.streaming() ? "4/6 fine-tune MLA for streaming" : "4/6 fine-tune MLA attention",
        results.resolve("mla_finetuned_metadata.json"), () -> finetune(converted, finetuned, data, streamStatistics));

    evaluateAndBenchmark("5/6 MLA fine-tuned", finetuned, "mla_finetuned", data, streamStatistics);

    step("6/6 comparison report", results.resolve(ComparisonReport.TEXT), () -> new ComparisonReport(results).write());
    log("pipeline finished: " + results.resolve(ComparisonReport.TEXT));
    return new PipelineResult(results, Files.readString(results.resolve(ComparisonReport.TEXT)));
  }

  /** The outcome: where everything is and the report's text. */
  public record PipelineResult(Path results, String report) {}

  private record Data(Path train, Path valid, Path test) {}

  static final String DATA_SOURCES = "sources.json";

  /** data/sources.json: where the data came from; synthetic when the pipeline made the corpus itself. */
  public record DataSources(String train, String valid, String test, boolean synthetic) {}

  /** Training, validation and test manifests (subsets as the preset asks), synthesising a corpus when none was given. */
  private Data prepareData() throws IOException {
    Path train = options.train();
    Path valid = options.valid();
    Path test = options.test();
    if (train == null || test == null) {
      Path corpus = results.resolve("corpus");
      step("0/6 synthesise speech corpus (espeak-ng; synthetic, robotic speech)", corpus.resolve("corpus.json"), () ->
          SyntheticCorpus.write(CorpusPlan.create(options.seed(), options.synthCount(), SYNTH_VOCABULARY, PipelineOptions.SYNTH_SPLITS),
              SpeechTools.find(), corpus, true, Runtime.getRuntime().availableProcessors(), null));
      if (train == null) train = corpus.resolve("train");
      if (valid == null) valid = corpus.resolve("validation");
      if (test == null) test = corpus.resolve("test");
    }
    if (valid == null) {
      throw new IllegalArgumentException("--valid DATA is needed with --train (validation data for early stopping)");
    }
    Path dataDir = Files.createDirectories(results.resolve("data"));
    if (!Files.exists(dataDir.resolve(DATA_SOURCES))) {
      Json.write(dataDir.resolve(DATA_SOURCES), new DataSources(train.toString(), valid.toString(), test.toString(),
          options.test() == null));
    }
    return new Data(subset(train, options.trainLimit(), dataDir.resolve("train.tsv")),
        subset(valid, Math.max(20, options.evalLimit()), dataDir.resolve("valid.tsv")),
        subset(test, options.evalLimit(), dataDir.resolve("test.tsv")));
  }

  private Path subset(Path source, int limit, Path manifest) throws IOException {
    return subset(source, allowOutsidePaths, options.seed(), limit, manifest);
  }

  /** A manifest of the first {@code limit} utterances after a seeded shuffle (all when 0), written once. */
  static Path subset(Path source, boolean allowOutsidePaths, long seed, int limit, Path manifest) throws IOException {
    if (Files.exists(manifest)) return manifest;
    Dataset d = Datasets.open(source, allowOutsidePaths).shuffled(seed);
    if (limit > 0) d = d.limit(limit);
    if (d.size() == 0) throw new IllegalArgumentException(source + ": no utterances");
    StringBuilder sb = new StringBuilder();
    for (Utterance u : d.utterances()) sb.append(u.audio().toAbsolutePath()).append('\t').append(u.transcript()).append('\n');
    AtomicFiles.writeString(manifest, sb.toString());
    return manifest;
  }

  static final String WAVEFORM_STATISTICS = "waveform_statistics.json";

  /** data/waveform_statistics.json: the fixed statistics every stream and the streaming fine-tune use. */
  public record StreamStatistics(double mean, double std, String source) {}

  private WaveformStatistics streamStatistics(Data data) throws IOException {
    Path file = results.resolve("data").resolve(WAVEFORM_STATISTICS);
    if (!Files.exists(file)) {
      AudioNormalizer source = AudioNormalizer.read(options.model().resolve("preprocessor_config.json"));
      WaveformStatistics s = source.streamStatistics();
      String from = options.model().resolve("preprocessor_config.json") + " (" + AudioNormalizer.STREAM_STATISTICS_KEY + ")";
      if (s == null) {
        s = AudioStatistics.of(Datasets.open(data.train, true), source.samplingRate());
        from = "every sample of " + data.train;
      }
      Json.write(file, new StreamStatistics(s.mean(), s.std(), from));
    }
    StreamStatistics s = Json.read(file, StreamStatistics.class);
    return new WaveformStatistics(s.mean(), s.std());
  }

  /** {@code <prefix>_stream<chunk>_wer.json}: the evaluation of a model streamed in chunks of {@code chunk} frames. */
  public static String streamedFile(String prefix, int chunk) {
    return prefix + "_stream" + chunk + "_wer.json";
  }

  private void evaluateAndBenchmark(String title, Path model, String prefix, Data data, WaveformStatistics streamStatistics)
      throws IOException {
    Path wer = results.resolve(prefix + "_wer.json");
    step(title + ": WER on the test data", wer, () -> {
      try (SpeechRecognizer asr = SpeechRecognizer.open(model, options.device())) {
        EvaluationReport report = Evaluator.of(asr, 1).evaluate(Datasets.open(data.test, true), model.toString(), options.device(), null);
        Json.write(wer, report);
        log(String.format("  %s: WER %.2f%%, CER %.2f%% on %d utterances", prefix, 100 * report.wer(), 100 * report.cer(),
            report.utteranceCount()));
        String outside = OutOfVocabulary.warningOf(report.outOfVocabulary());
        if (outside != null) log("  " + outside);
      }
    });
    for (int chunk : options.streamChunks()) {
      Path streamed = results.resolve(streamedFile(prefix, chunk));
      step(title + ": WER decoded as live streams, chunks of " + chunk, streamed, () -> {
        try (SpeechRecognizer asr = SpeechRecognizer.open(model, options.device())) {
          // an MLA model streams over its latent, the cache it exists for; an MHA model has only K/V to cache
          StreamingCacheKind cache = asr.model().hasLatent() ? StreamingCacheKind.LATENT : StreamingCacheKind.KEY_VALUE;
          StreamOptions so = new StreamOptions(chunk, options.leftContext(), cache).withNormalization(streamStatistics);
          EvaluationReport report = Evaluator.streaming(asr, so)
              .evaluate(Datasets.open(data.test, true), model.toString(), options.device(), null);
          Json.write(streamed, report);
          log(String.format("  %s, %s: WER %.2f%%, CER %.2f%%, real-time factor %.4f", prefix, report.decoding(),
              100 * report.wer(), 100 * report.cer(), report.realTimeFactor()));
        }
      });
    }
    Path bench = results.resolve(prefix + "_benchmark.json");
    step(title + ": speed and memory", bench, () -> {
      Dataset timed = Datasets.open(data.test, true).limit(options.benchmarkLimit());
      BenchmarkReport.Summary s = benchmark.run(model, timed, options.device(), bench);
      log(String.format("  %s: real-time factor %.4f (IQR %.4f), peak native memory %.1f MiB", prefix,
          s.realTimeFactor(), s.realTimeFactorIqr(), s.peakNativeBytes() / 1048576.0));
    });
  }

  private void finetune(Path converted, Path finetuned, Data data, WaveformStatistics streamStatistics) throws IOException {
    Path work = results.resolve("finetune");
    boolean resume = Files.isDirectory(work.resolve("checkpoint"));
    if (Files.exists(work) && !resume) AtomicFiles.deleteRecursively(work);
    StreamingTraining streaming = options.streaming()
        ? new StreamingTraining(StreamingTraining.DEFAULT_CHUNKS, options.leftContext(), streamStatistics) : null;
    FinetuneOptions fo = FinetuneOptions.builder().model(converted).train(data.train).valid(data.valid).out(work)
        .epochs(options.epochs()).maxSteps(options.maxSteps()).batchSize(options.batchSize())
        .learningRate(options.learningRate()).patience(options.patience()).evalEvery(options.evalEvery())
        .streaming(streaming).device(options.device()).seed(options.seed()).resume(resume)
        .allowOutsidePaths(true).build();
    if (resume) log("  resuming fine-tuning from " + work.resolve("checkpoint"));
    TrainingResult result = new Trainer(fo).run(new FinetuneProgress());
    // publish: the best model plus its training history and TensorBoard logs, in one atomic rename
    Path tmp = results.resolve("." + FINETUNED + ".tmp");
    if (Files.exists(tmp)) AtomicFiles.deleteRecursively(tmp);
    copyTree(work.resolve(Trainer.BEST), tmp);
    Path history = Files.createDirectories(tmp.resolve("training"));
    try (Stream<Path> files = Files.list(work)) {
      for (Path f : files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
        Files.copy(f, history.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    AtomicFiles.replaceDirectory(tmp, finetuned);
    // the published folder is the best model: the trainer's copy would be the same weights stored twice
    TrainingResult published = new TrainingResult(result.status(), result.steps(), result.totalSteps(), result.stopReason(),
        result.initial(), result.best(), result.last(), finetuned, result.checkpoint(), result.trainerState(), result.seconds());
    Json.write(results.resolve("mla_finetuned_metadata.json"), new FinetuneMetadata(RunInfo.capture(options.device()),
        converted.toString(), finetuned.toString(), fo.scope().cliName(), options.batchSize(), options.learningRate(),
        options.epochs(), options.maxSteps(), options.patience(),
        streaming == null ? null : StreamingTraining.describe(streaming.chunkSizes()),
        streaming == null ? null : streaming.leftContextFrames(), published));
    AtomicFiles.deleteRecursively(work.resolve(Trainer.BEST));
  }

  /** mla_finetuned_metadata.json; streamingChunks and leftContext are null for whole-utterance fine-tuning. */
  public record FinetuneMetadata(RunInfo run, String sourceModel, String finetunedModel, String trainScope, int batchSize,
      double learningRate, int epochs, long maxSteps, int patience, String streamingChunks, Integer leftContext,
      TrainingResult result) {}

  @FunctionalInterface
  private interface Action {
    void run() throws IOException;
  }

  private void step(String title, Path result, Action action) throws IOException {
    if (Files.exists(result)) {
      log(title + ": done earlier, skipped (" + results.relativize(result) + ")");
      return;
    }
    log(title + " ...");
    long t0 = System.nanoTime();
    action.run();
    log(String.format("%s: done in %.1f s", title, (System.nanoTime() - t0) / 1e9));
  }

  /**
   * A line per validation and, between them, one at most every {@link #EVERY_NANOS} with the update, the train loss
   * and the time left at the rate so far: the step runs for minutes and must not look hung.
   */
  private final class FinetuneProgress implements dev.mha2mla.train.TrainingListener {
    private static final long EVERY_NANOS = 30_000_000_000L;
    private long total;
    private long first;
    private long startNanos;
    private long lastNanos;

    @Override
    public void started(long step, long totalSteps) {
      total = totalSteps;
      first = step;
      startNanos = lastNanos = System.nanoTime();
      say(String.format(java.util.Locale.ROOT, "  fine-tuning: updates %d to %d", step + 1, totalSteps));
    }

    @Override
    public void stepDone(dev.mha2mla.train.StepMetrics m) {
      long now = System.nanoTime();
      if (now - lastNanos < EVERY_NANOS) return;
      lastNanos = now;
      double perStep = (now - startNanos) / 1e9 / Math.max(1, m.step() - first);
      say(String.format(java.util.Locale.ROOT, "  update %d/%d: train loss %.3f, ~%.1f min left", m.step(), total,
          m.loss(), perStep * (total - m.step()) / 60));
    }

    @Override
    public void evaluated(dev.mha2mla.train.Evaluation e) {
      lastNanos = System.nanoTime();
      say(String.format(java.util.Locale.ROOT, "  update %d/%d: validation loss %.4f, WER %.2f%%%s", e.step(), total,
          e.loss(), 100 * e.wordErrorRate(), e.improved() ? " (best so far)" : ""));
    }

    private void say(String line) {
      try {
        log(line);
      } catch (IOException ex) {
        throw new java.io.UncheckedIOException(ex);
      }
    }
  }

  private void log(String line) throws IOException {
    String stamped = LocalDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME).substring(0, 19) + "  " + line;
    console.accept(line);
    Files.writeString(results.resolve("pipeline.log"), stamped + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  private static void copyIfAbsent(Path from, Path to) throws IOException {
    if (!Files.exists(to)) AtomicFiles.write(to, Files.readAllBytes(from));
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(target);
        else Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  private static double estimateParameters(ConformerConfig c) {
    double d = c.hiddenSize();
    double perLayer = 4 * d * d + d * d + 2 * 2 * d * c.intermediateSize() + 2 * d * d + d * d + d * c.depthwiseKernelSize();
    double conv = 0;
    long in = 1;
    for (int i = 0; i < c.convDim().size(); i++) {
      conv += (double) c.convDim().get(i) * in * c.convKernel().get(i);
      in = c.convDim().get(i);
    }
    return c.numHiddenLayers() * perLayer + conv + in * d + d * c.vocabSize();
  }

  /** Files the report and the integration test expect in a results folder finished with these stream chunks. */
  public static List<String> expectedFiles(List<Integer> streamChunks) {
    List<String> files = new ArrayList<>(List.of(ComparisonReport.TEXT, ComparisonReport.MARKDOWN, "pipeline.log", OPTIONS_FILE,
        "mla_config.json", "conversion.json", "mha_baseline_wer.json", "mha_baseline_benchmark.json",
        "mla_converted_wer.json", "mla_converted_benchmark.json", "mla_finetuned_wer.json",
        "mla_finetuned_benchmark.json", "mla_finetuned_metadata.json", "data/" + WAVEFORM_STATISTICS));
    for (String prefix : ComparisonReport.PREFIXES) {
      for (int c : streamChunks) files.add(streamedFile(prefix, c));
    }
    files.addAll(ComparisonReport.PLOTS);
    return files;
  }

  static Map<String, Object> readJson(Path file) throws IOException {
    @SuppressWarnings("unchecked")
    Map<String, Object> m = Json.read(file, Map.class);
    return m;
  }
}
