package dev.mha2mla.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.data.Datasets;
import dev.mha2mla.data.Utterance;
import dev.mha2mla.eval.EvaluationReport;
import dev.mha2mla.eval.OutOfVocabulary;
import dev.mha2mla.eval.Evaluator;
import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.Json;
import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.mla.ConversionOptions;
import dev.mha2mla.mla.MlaConverter;
import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.train.FinetuneOptions;
import dev.mha2mla.train.TrainScope;
import dev.mha2mla.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The accuracy/cache frontier of a conversion: at each cache budget F (share of the MHA cache kept) and with each
 * method asked, convert the MHA model, score it on the test data, fine-tune it briefly and score it again; a control
 * arm fine-tunes the MHA model with the same recipe, so that what fine-tuning does to any model is told apart from
 * what it recovers of the conversion. Every step's file marks it done: a rerun with the same --results continues.
 *
 * <p>Methods: uniform (the same r = round(F * 2d) in every layer) or budgeted (ranks per layer, {@code RankAllocation}),
 * each plain (SVD of the weights) or whitened (SVD of the weights times the calibration audio's input covariance root).
 * Layout: {@code data/} (seeded subsets), {@code mha_wer.json}, {@code control/} (fine-tuned MHA and its
 * {@code after_wer.json}), {@code points/<method>-<F>/} ({@code model/}, {@code before_wer.json}, {@code finetuned/},
 * {@code after_wer.json}), {@code SWEEP_REPORT.md}, {@code sweep.json}, {@code sweep_wer_vs_cache.png}.
 */
public final class Sweep {
  public static final String OPTIONS_FILE = "sweep_options.json";
  public static final String REPORT = "SWEEP_REPORT.md";
  /** Validation utterances each fine-tune picks its best model on (the first after the seeded shuffle). */
  static final int VALID_UTTERANCES = 200;

  /** How one point converts: ranks uniform or allocated per layer under the budget; SVD plain or whitened. */
  public enum Method {
    UNIFORM_PLAIN, UNIFORM_WHITENED, BUDGET_PLAIN, BUDGET_WHITENED;

    public String cliName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public boolean budgeted() {
      return this == BUDGET_PLAIN || this == BUDGET_WHITENED;
    }

    public boolean whitened() {
      return this == UNIFORM_WHITENED || this == BUDGET_WHITENED;
    }

    public static Method parse(String s) {
      for (Method m : values()) if (m.cliName().equals(s.trim())) return m;
      throw new IllegalArgumentException("unknown method '" + s + "': use uniform-plain, uniform-whitened, budget-plain "
          + "or budget-whitened");
    }
  }

  /**
   * @param budgets shares of the MHA cache, each in (0, 0.5]
   * @param trainLimit training utterances (0 = all); evalLimit test utterances (0 = all)
   * @param steps fine-tuning updates per model (attention scope, whole utterances)
   */
  public record Options(Path model, Path train, Path valid, Path test, Path results, List<Double> budgets,
      List<Method> methods, int trainLimit, int evalLimit, long steps, int batchSize, double learningRate, long seed,
      String device) {
    public Options {
      budgets = List.copyOf(budgets);
      methods = List.copyOf(methods);
      if (budgets.isEmpty()) throw new IllegalArgumentException("--cache-budgets needs at least one share");
      if (methods.isEmpty()) throw new IllegalArgumentException("--methods needs at least one method");
      for (double f : budgets) {
        if (!(f > 0 && f <= 0.5)) throw new IllegalArgumentException("--cache-budgets: " + f + " is not a share in (0, 0.5]");
      }
      if (trainLimit < 0 || evalLimit < 0) throw new IllegalArgumentException("utterance limits must be 0 (all) or more");
      if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
      if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
      if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
        throw new IllegalArgumentException("--lr must be a positive number, got " + learningRate);
      }
    }
  }

  private final Options o;
  private final Consumer<String> console;

  public Sweep(Options options, Consumer<String> console) {
    this.o = options;
    this.console = console;
  }

  /** Runs (or continues) the sweep; returns the report's text. */
  public String run() throws IOException {
    try (CpuThreads.Pinned pinned = CpuThreads.pin()) {
      return runPinned();
    }
  }

  private String runPinned() throws IOException {
    ConformerConfig source = ConformerConfig.read(o.model().resolve("config.json"));
    if (source.isMla()) throw new IllegalArgumentException(o.model() + ": a sweep starts from an MHA model; this one is MLA");
    for (double f : o.budgets()) {
      if (Math.floor(f * 2 * source.hiddenSize()) < 1) {
        throw new IllegalArgumentException("--cache-budgets: " + f + " leaves less than one latent float per layer for hidden size "
            + source.hiddenSize());
      }
    }
    Files.createDirectories(o.results());
    Pipeline.claim(o.results(), OPTIONS_FILE, recorded(), List.of("data", "points", "control"));
    log("sweep started: " + o.budgets() + " x " + o.methods().stream().map(Method::cliName).toList());
    Path data = Files.createDirectories(o.results().resolve("data"));
    Path train = subset(o.train(), o.trainLimit(), data.resolve("train.tsv"));
    Path valid = subset(o.valid(), VALID_UTTERANCES, data.resolve("valid.tsv"));
    Path test = subset(o.test(), o.evalLimit(), data.resolve("test.tsv"));
    List<Path> calibration = Datasets.open(train, true).limit(64).utterances().stream().map(Utterance::audio).toList();

    evaluate("MHA baseline", o.model(), o.results().resolve("mha_wer.json"), test);
    Path control = o.results().resolve("control");
    finetune("control: MHA fine-tuned", o.model(), control, train, valid);
    evaluate("control: MHA fine-tuned", control.resolve("finetuned"), control.resolve("after_wer.json"), test);
    for (double f : o.budgets()) {
      for (Method m : o.methods()) {
        Path point = o.results().resolve("points").resolve(pointName(m, f));
        String title = pointName(m, f);
        step(title + ": convert", point.resolve("model").resolve(MlaConverter.REPORT_FILE), () -> {
          int r = (int) Math.max(1, Math.round(f * 2 * source.hiddenSize()));
          ConversionOptions co = ConversionOptions.builder(r, ConversionMethod.JOINT).whiten(m.whitened())
              .balance(m.whitened()).svdDevice(o.device()).calibration(calibration).cacheBudget(m.budgeted() ? f : null)
              .build();
          new MlaConverter(co, null).convert(o.model(), point.resolve("model"), true);
        });
        evaluate(title + ": before fine-tuning", point.resolve("model"), point.resolve("before_wer.json"), test);
        finetune(title, point.resolve("model"), point, train, valid);
        evaluate(title + ": after fine-tuning", point.resolve("finetuned"), point.resolve("after_wer.json"), test);
      }
    }
    String report = new SweepReport(o.results(), o.budgets(), o.methods(), source).write();
    log("sweep finished: " + o.results().resolve(REPORT));
    return report;
  }

  static String pointName(Method m, double budget) {
    return m.cliName() + "-" + budget;
  }

  private Map<String, Object> recorded() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model", o.model().toAbsolutePath().normalize().toString());
    m.put("train", o.train().toAbsolutePath().normalize().toString());
    m.put("valid", o.valid().toAbsolutePath().normalize().toString());
    m.put("test", o.test().toAbsolutePath().normalize().toString());
    m.put("cache_budgets", o.budgets());
    m.put("methods", o.methods().stream().map(Method::cliName).toList());
    m.put("train_limit", o.trainLimit());
    m.put("eval_limit", o.evalLimit());
    m.put("steps", o.steps());
    m.put("batch_size", o.batchSize());
    m.put("learning_rate", o.learningRate());
    m.put("seed", o.seed());
    m.put("device", o.device());
    return m;
  }

  private Path subset(Path source, int limit, Path manifest) throws IOException {
    return Pipeline.subset(source, false, o.seed(), limit, manifest);
  }

  private void evaluate(String title, Path model, Path out, Path test) throws IOException {
    step(title + ": WER", out, () -> {
      try (SpeechRecognizer asr = SpeechRecognizer.open(model, o.device())) {
        EvaluationReport r = Evaluator.of(asr, 1).evaluate(Datasets.open(test, true), model.toString(), o.device(), null);
        Json.write(out, r);
        log(String.format(Locale.ROOT, "  WER %.2f%% [%.2f, %.2f] on %d utterances", 100 * r.wer(),
            100 * r.werCi95().low(), 100 * r.werCi95().high(), r.utteranceCount()));
        String outside = OutOfVocabulary.warningOf(r.outOfVocabulary());
        if (outside != null) log("  " + outside);
      }
    });
  }

  /**
   * The recipe every arm gets: attention scope, whole utterances, o.steps() updates, validation every quarter, no early
   * stop; the model kept is the one with the lowest validation loss.
   */
  private void finetune(String title, Path model, Path dir, Path train, Path valid) throws IOException {
    Path finetuned = dir.resolve("finetuned");
    step(title + ": fine-tune " + o.steps() + " updates", finetuned.resolve(Trainer.BEST_INFO), () -> {
      Path work = dir.resolve("training");
      boolean resume = Files.isDirectory(work.resolve("checkpoint"));
      if (Files.exists(work) && !resume) AtomicFiles.deleteRecursively(work);
      FinetuneOptions fo = FinetuneOptions.builder().model(model).train(train).valid(valid).out(work)
          .maxSteps(o.steps()).batchSize(o.batchSize()).learningRate(o.learningRate()).scope(TrainScope.ATTENTION)
          .evalEvery(Math.max(1, o.steps() / 4)).patience(0).device(o.device()).seed(o.seed())
          .resume(resume).allowOutsidePaths(true).build();
      new Trainer(fo).run(new dev.mha2mla.train.TrainingListener() {});
      AtomicFiles.replaceDirectory(work.resolve(Trainer.BEST), finetuned);
      AtomicFiles.deleteRecursively(work.resolve("checkpoint"));  // the curves (metrics.jsonl) stay
    });
  }

  @FunctionalInterface
  private interface Action {
    void run() throws IOException;
  }

  private void step(String title, Path result, Action action) throws IOException {
    if (Files.exists(result)) {
      log(title + ": done earlier, skipped");
      return;
    }
    log(title + " ...");
    long t0 = System.nanoTime();
    action.run();
    log(String.format(Locale.ROOT, "%s: done in %.1f s", title, (System.nanoTime() - t0) / 1e9));
  }

  private void log(String line) throws IOException {
    console.accept(line);
    String stamped = LocalDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME).substring(0, 19) + "  " + line;
    Files.writeString(o.results().resolve("sweep.log"), stamped + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /** SWEEP_REPORT.md, sweep.json and the frontier plot, from the files the steps wrote. */
  static final class SweepReport {
    private final Path results;
    private final List<Double> budgets;
    private final List<Method> methods;
    private final ConformerConfig source;

    SweepReport(Path results, List<Double> budgets, List<Method> methods, ConformerConfig source) {
      this.results = results;
      this.budgets = budgets;
      this.methods = methods;
      this.source = source;
    }

    /** One point of the frontier, as sweep.json lists it (WERs in percent). */
    record Row(String method, double cacheBudget, List<Integer> latentDims, double cacheFloatsPerFrame, double werBefore,
        double werBeforeLow, double werBeforeHigh, String beforeVsMha, double werAfter, double werAfterLow,
        double werAfterHigh, String afterVsMha, String afterVsControl) {}

    String write() throws IOException {
      JsonNode mha = Json.MAPPER.readTree(results.resolve("mha_wer.json").toFile());
      JsonNode control = Json.MAPPER.readTree(results.resolve("control").resolve("after_wer.json").toFile());
      long layers = source.numHiddenLayers();
      double mhaFloats = 2.0 * source.hiddenSize() * layers;
      List<Row> rows = new ArrayList<>();
      for (Method m : methods) {
        for (double f : budgets) {
          Path point = results.resolve("points").resolve(pointName(m, f));
          JsonNode conversion = Json.MAPPER.readTree(point.resolve("model").resolve(MlaConverter.REPORT_FILE).toFile());
          List<Integer> dims = new ArrayList<>();
          conversion.path("latent_dims").forEach(n -> dims.add(n.asInt()));
          JsonNode before = Json.MAPPER.readTree(point.resolve("before_wer.json").toFile());
          JsonNode after = Json.MAPPER.readTree(point.resolve("after_wer.json").toFile());
          rows.add(new Row(m.cliName(), f, dims, dims.stream().mapToInt(Integer::intValue).sum(),
              pct(before, "wer"), pct(before.path("wer_ci95"), "low"), pct(before.path("wer_ci95"), "high"),
              ComparisonReport.versus(mha, before), pct(after, "wer"), pct(after.path("wer_ci95"), "low"),
              pct(after.path("wer_ci95"), "high"), ComparisonReport.versus(mha, after),
              ComparisonReport.versus(control, after)));
        }
      }
      long words = mha.path("words").path("reference_length").asLong();
      StringBuilder sb = new StringBuilder();
      sb.append("# Accuracy against cache: conversion cost and recovery\n\n");
      sb.append(String.format(Locale.ROOT, "Model %s (hidden %d, %d layers; MHA caches %.0f floats per frame over all "
          + "layers). Test: %d utterances, %d reference words: one word is %.3f points of WER. Intervals: 95%% bootstrap "
          + "over utterances; differences: paired bootstrap over the same utterances, \"no significant difference\" where "
          + "the interval holds 0.%n%n", mha.path("model").asText(), source.hiddenSize(), layers, mhaFloats,
          mha.path("utterance_count").asInt(), words, 100.0 / Math.max(1, words)));
      sb.append(String.format(Locale.ROOT, "- MHA baseline: %s%n- Control (MHA fine-tuned with the same recipe): %s; "
          + "vs MHA %s%n%n", ComparisonReport.werWithInterval(mha), ComparisonReport.werWithInterval(control),
          ComparisonReport.versus(mha, control)));
      sb.append("| method | cache budget | latent per layer | cache floats / frame | WER before [95% CI] | before vs MHA "
          + "| WER after [95% CI] | after vs MHA | after vs control |\n|---|---|---|---|---|---|---|---|---|\n");
      for (Row r : rows) {
        sb.append(String.format(Locale.ROOT, "| %s | %s (%.1fx) | %s | %.0f | %.2f%% [%.2f, %.2f] | %s | %.2f%% [%.2f, %.2f] "
            + "| %s | %s |%n", r.method(), r.cacheBudget(), 1 / r.cacheBudget(),
            ConformerConfig.MlaSettings.describe(r.latentDims()), r.cacheFloatsPerFrame(), r.werBefore(), r.werBeforeLow(),
            r.werBeforeHigh(), r.beforeVsMha(), r.werAfter(), r.werAfterLow(), r.werAfterHigh(), r.afterVsMha(),
            r.afterVsControl()));
      }
      sb.append("\nBefore: the converted model as it comes out of the SVD; after: fine-tuned (attention only, whole "
          + "utterances) with the control's recipe. The plot sweep_wer_vs_cache.png draws WER against cache floats per "
          + "frame with the 95% intervals as bars.\n");
      Json.write(results.resolve("sweep.json"), rows);
      plot(rows, mha, control, mhaFloats);
      AtomicFiles.writeString(results.resolve(REPORT), sb.toString());
      return sb.toString();
    }

    private static double pct(JsonNode n, String field) {
      return 100 * n.path(field).asDouble();
    }

    private void plot(List<Row> rows, JsonNode mha, JsonNode control, double mhaFloats) throws IOException {
      XYChart chart = new XYChartBuilder().width(900).height(560).title("WER against cache size (95% intervals)")
          .xAxisTitle("cache floats per frame, all layers (log scale)").yAxisTitle("WER %").build();
      chart.getStyler().setXAxisLogarithmic(true);
      for (Method m : methods) {
        for (boolean after : new boolean[] {false, true}) {
          List<Row> mine = rows.stream().filter(r -> r.method().equals(m.cliName())).toList();
          double[] x = mine.stream().mapToDouble(Row::cacheFloatsPerFrame).toArray();
          double[] y = mine.stream().mapToDouble(r -> after ? r.werAfter() : r.werBefore()).toArray();
          double[] err = mine.stream().mapToDouble(r -> after ? (r.werAfterHigh() - r.werAfterLow()) / 2
              : (r.werBeforeHigh() - r.werBeforeLow()) / 2).toArray();
          XYSeries s = chart.addSeries(m.cliName() + (after ? ", fine-tuned" : ", converted"), x, y, err);
          s.setLineStyle(after ? SeriesLines.SOLID : SeriesLines.DASH_DASH);
        }
      }
      chart.addSeries("MHA", new double[] {mhaFloats}, new double[] {pct(mha, "wer")}).setMarker(SeriesMarkers.DIAMOND);
      chart.addSeries("MHA fine-tuned (control)", new double[] {mhaFloats}, new double[] {pct(control, "wer")})
          .setMarker(SeriesMarkers.SQUARE);
      BitmapEncoder.saveBitmap(chart, results.resolve("sweep_wer_vs_cache").toString(), BitmapEncoder.BitmapFormat.PNG);
    }
  }
}
