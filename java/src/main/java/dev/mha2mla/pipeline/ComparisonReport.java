package dev.mha2mla.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mha2mla.eval.Bootstrap;
import dev.mha2mla.eval.EditCounts;
import dev.mha2mla.eval.bench.Timing;
import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RunInfo;
import dev.mha2mla.model.ConformerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * COMPARISON_REPORT.txt and REPORT.md (the same content, with the plots) from the JSON files of a results
 * folder. Every number is read from a file this run wrote; nothing is estimated.
 */
public final class ComparisonReport {
  public static final String TEXT = "COMPARISON_REPORT.txt";
  public static final String MARKDOWN = "REPORT.md";
  public static final List<String> PLOTS = List.of("training_curves.png", "wer_vs_cache.png",
      "streaming_wer_vs_latency.png", "latency_vs_length.png", "energy_kept_per_layer.png");
  static final String[] PREFIXES = {"mha_baseline", "mla_converted", "mla_finetuned"};
  private static final String[] LABELS = {"MHA baseline", "MLA converted", "MLA fine-tuned"};

  private final Path dir;

  public ComparisonReport(Path dir) {
    this.dir = dir;
  }

  public void write() throws IOException {
    JsonNode conversion = Json.MAPPER.readTree(dir.resolve("conversion.json").toFile());
    JsonNode[] wer = new JsonNode[3];
    JsonNode[] bench = new JsonNode[3];
    List<Integer> chunks = streamedChunks();
    JsonNode[][] streamed = new JsonNode[3][chunks.size()];
    for (int i = 0; i < 3; i++) {
      wer[i] = Json.MAPPER.readTree(dir.resolve(PREFIXES[i] + "_wer.json").toFile());
      for (int c = 0; c < chunks.size(); c++) {
        Path f = dir.resolve(Pipeline.streamedFile(PREFIXES[i], chunks.get(c)));
        streamed[i][c] = Files.exists(f) ? Json.MAPPER.readTree(f.toFile()) : null;
      }
      bench[i] = Json.MAPPER.readTree(dir.resolve(PREFIXES[i] + "_benchmark.json").toFile()).path("summary");
    }
    JsonNode training = Json.MAPPER.readTree(dir.resolve("mla_finetuned_metadata.json").toFile());
    String body = body(conversion, wer, chunks, streamed, bench, training);
    plots(conversion, wer, chunks, streamed, bench);
    AtomicFiles.writeString(dir.resolve(MARKDOWN), body + "\n## Plots\n\n"
        + String.join("\n\n", PLOTS.stream().map(p -> "![" + p + "](" + p + ")").toList()) + "\n");
    AtomicFiles.writeString(dir.resolve(TEXT), body.replace("`", ""));
  }

  /** The chunk sizes the MHA baseline was streamed at, from its result files' names. */
  private List<Integer> streamedChunks() throws IOException {
    java.util.regex.Pattern name = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(PREFIXES[0]) + "_stream(\\d+)_wer\\.json");
    List<Integer> out = new ArrayList<>();
    try (java.util.stream.Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        java.util.regex.Matcher m = name.matcher(f.getFileName().toString());
        if (m.matches()) out.add(Integer.parseInt(m.group(1)));
      }
    }
    java.util.Collections.sort(out);
    return out;
  }

  private String body(JsonNode conversion, JsonNode[] wer, List<Integer> chunks, JsonNode[][] streamed, JsonNode[] bench,
      JsonNode training) throws IOException {
    StringBuilder sb = new StringBuilder();
    JsonNode run = conversion.path("run");
    sb.append("# mha2mla comparison report\n\n");
    sb.append(String.format(Locale.ROOT, "Source model: `%s`%nTest data: `%s` (%d utterances, %.1f s of audio)%n",
        conversion.path("source_model").asText(), wer[0].path("dataset").asText(), wer[0].path("utterance_count").asInt(),
        wer[0].path("audio_seconds").asDouble()));
    Map<String, String> environment = new LinkedHashMap<>();
    run.path("environment").fields().forEachRemaining(e -> environment.put(e.getKey(), e.getValue().asText()));
    sb.append(String.format(Locale.ROOT, "Machine: %s, %d cores, device %s; Java %s; LibTorch %s; OpenBLAS kernels %s; environment: %s; commit %s%n",
        run.path("cpu").asText(), run.path("cpu_cores").asInt(), run.path("device").asText(), run.path("java_version").asText(),
        run.path("libtorch_version").asText(), run.path("blas_kernels").asText("unknown"), RunInfo.describe(environment),
        run.path("git_commit").asText()));
    sb.append("Command: `").append(run.path("command_line").asText()).append("`\n\n");
    JsonNode sources = Json.MAPPER.readTree(dir.resolve("data").resolve(Pipeline.DATA_SOURCES).toFile());
    sb.append("Data sources: train `").append(sources.path("train").asText()).append("`, test `")
        .append(sources.path("test").asText()).append("`\n\n");
    if (sources.path("synthetic").asBoolean()) {
      sb.append("The test data is SYNTHETIC, robotic speech (espeak-ng): error rates on it say nothing about human speech.\n\n");
    }
    sb.append("| model | WER [95% CI] | WER vs MHA (paired) | CER | cache floats / frame / layer | cache vs MHA "
        + "| real-time factor (median, IQR) | speed vs MHA | peak native memory | memory vs MHA |\n");
    sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
    double mhaRtf = bench[0].path("real_time_factor").asDouble();
    double mhaMem = bench[0].path("peak_native_bytes").asDouble();
    long mhaCache = bench[0].path("cache_bytes_per_frame_per_layer").asLong();
    // paired tests against the baseline, used by the table and the cost line: each bootstrap runs once
    String[] versusMha = {"baseline", versus(wer[0], wer[1]), versus(wer[0], wer[2])};
    for (int i = 0; i < 3; i++) {
      double rtf = bench[i].path("real_time_factor").asDouble();
      double mem = bench[i].path("peak_native_bytes").asDouble();
      long cache = bench[i].path("cache_bytes_per_frame_per_layer").asLong();
      String cacheRatio = i == 0 ? "baseline" : String.format(Locale.ROOT, "%.2fx smaller", (double) mhaCache / Math.max(1, cache));
      String speed = i == 0 ? "baseline" : speedVersus(bench[0], bench[i]);
      String memory = i == 0 ? "baseline" : String.format(Locale.ROOT, "%.2fx", mhaMem > 0 ? mem / mhaMem : 0);
      sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f%% | %d | %s | %.4f (%.4f) | %s | %.1f MiB | %s |%n",
          LABELS[i], werWithInterval(wer[i]), versusMha[i],
          100 * wer[i].path("cer").asDouble(), cache / 4, cacheRatio,
          rtf, bench[i].path("real_time_factor_iqr").asDouble(), speed, mem / 1048576.0, memory));
    }
    long words = wer[0].path("words").path("reference_length").asLong();
    sb.append(String.format(Locale.ROOT, "%nWhole utterances. The test holds %d reference words: one word is %.3f points "
        + "of WER. Intervals: bootstrap over utterances (%d draws); WER vs MHA: the difference in points on the same "
        + "utterances, its paired-bootstrap 95%% interval and p-value. Speed vs MHA > 1 means faster than the MHA "
        + "baseline: the median over the timed utterances of the MHA model's time over this model's, with the middle "
        + "half of those ratios; no ratio is given where that middle half straddles 1 (the machine's noise is as large "
        + "as the difference). Load average (1 min) around the timed passes: %s.%n",
        words, 100.0 / Math.max(1, words), Bootstrap.DRAWS, loads(bench)));
    double cost = wer[1].path("wer").asDouble() - wer[0].path("wer").asDouble();
    double recovered = wer[1].path("wer").asDouble() - wer[2].path("wer").asDouble();
    sb.append(String.format(Locale.ROOT, "%nCost and recovery: the conversion changed WER by %s; fine-tuning changed the "
        + "converted model's WER by %s (fine-tuned vs converted, paired)%s.%n", versusMha[1],
        versus(wer[1], wer[2]), cost > 0 && recovered > 0
            ? String.format(Locale.ROOT, ", %.0f%% of the conversion's cost recovered", 100 * recovered / cost)
            : ""));
    JsonNode outside = wer[0].path("out_of_vocabulary");
    if (outside.path("outside").asLong() > 0) {
      sb.append(String.format(Locale.ROOT, "%n%d of the test's reference words (%.2f%%) lie outside the words the MHA "
          + "model was trained on (`%s`; e.g. %s): its errors on them are not conversion costs.%n",
          outside.path("outside").asLong(), 100 * outside.path("rate").asDouble(), outside.path("training_words").asText(),
          String.join(", ", Json.MAPPER.convertValue(outside.path("examples"), String[].class))));
    }
    streamingSection(sb, wer, chunks, streamed, bench, conversion.path("layers").size(), training);
    sb.append(String.format(Locale.ROOT, "%n## Conversion%n%nMethod %s, latent %s floats per frame per layer (MHA caches %d), whitened %s, "
            + "SVD %s (%s), %.1f s.%n%n| layer | energy kept (%s) | weight error | output error |%n|---|---|---|---|%n",
        conversion.path("method").asText(), latentSizes(conversion),
        conversion.path("cache_floats_per_frame_per_layer_mha").asInt(), conversion.path("whitened").asBoolean(),
        conversion.path("svd_backend").asText(), conversion.path("svd_precision").asText(), conversion.path("total_seconds").asDouble(),
        energyMeaning(conversion)));
    for (JsonNode l : conversion.path("layers")) {
      sb.append(String.format(Locale.ROOT, "| %d | %.2f%% | %.4f | %s |%n", l.path("layer").asInt(), 100 * l.path("energy_kept").asDouble(),
          l.path("relative_weight_error").asDouble(),
          l.path("relative_output_error").isNull() || l.path("relative_output_error").isMissingNode() ? "not measured"
              : String.format(Locale.ROOT, "%.4f", l.path("relative_output_error").asDouble())));
    }
    JsonNode result = training.path("result");
    boolean chunkAware = !training.path("streaming_chunks").isNull() && !training.path("streaming_chunks").isMissingNode();
    sb.append(String.format(Locale.ROOT, "%n## Fine-tuning%n%n%sScope %s, %d updates (%s), validation loss %.4f at the start, "
            + "best %.4f (step %d), validation WER %.2f%% -> %.2f%%, %.0f s.%n",
        chunkAware ? String.format(Locale.ROOT, "Chunk-aware (streaming): each update drew a chunk size from %s frames "
            + "(left context %d) and trained the pass a stream of that chunk computes; validation decodes its batches at "
            + "those sizes in turn, so its WER mixes them. ", training.path("streaming_chunks").asText(),
            training.path("left_context").asInt()) : "Whole utterances. ",
        training.path("train_scope").asText(), result.path("steps").asLong(), result.path("status").asText(),
        result.path("initial").path("loss").asDouble(), result.path("best").path("loss").asDouble(),
        result.path("best").path("step").asLong(), 100 * result.path("initial").path("word_error_rate").asDouble(),
        100 * result.path("best").path("word_error_rate").asDouble(), result.path("seconds").asDouble()));
    sb.append("\n## What was measured, and what was not\n\n");
    sb.append("- WER and CER: greedy CTC decoding of every test utterance listed above, corpus-level (errors summed over words).\n");
    if (!chunks.isEmpty()) {
      sb.append("- Streamed WER: the same utterances fed as live streams, one chunk of audio at a time (MHA over its K/V "
          + "cache, MLA over its latent cache, as each table row says); a stream sees no future beyond its chunk, so the "
          + "difference to the whole-utterance WER is the cost of streaming. Each is in its *_stream<chunk>_wer.json.\n");
    }
    sb.append("- Speed: full-utterance (non-streaming) recognition, one utterance at a time, timed per utterance after warm-up; "
        + "the spread is the interquartile range of per-utterance real-time factors. The *_wer.json files carry another "
        + "real-time factor: the scoring run's total model time over total audio, in batches, padding and the first "
        + "(cold) calls included, so it is not a speed measurement.\n");
    sb.append("- Output error: per layer, |attention output of the MLA layer - that of the MHA layer| / |that of the MHA "
        + "layer| on held-out calibration audio (training utterances); energy kept: " + energyMeaning(conversion) + ".\n");
    sb.append("- Memory: peak resident native memory increase around the timed calls (not the JVM heap); cache sizes come "
        + "from the model API (floats a streaming decoder keeps per frame per layer).\n");
    sb.append("- Not measured here: per-chunk streaming latency (see the benchmarks in benchmarks/ and "
        + "'mha2mla stream'), GPU runs "
        + "unless the device says cuda, accuracy on human speech unless the test data is human speech.\n");
    return sb.toString();
  }

  /** WER by chunk latency for every model, the cache each stream held, and the ratio to the MHA full-utterance WER. */
  private static void streamingSection(StringBuilder sb, JsonNode[] wer, List<Integer> chunks, JsonNode[][] streamed,
      JsonNode[] bench, int layers, JsonNode training) {
    if (chunks.isEmpty()) return;
    sb.append("\n## Streaming: WER against chunk latency\n\n");
    JsonNode any = streamed[0][0];
    sb.append(String.format(Locale.ROOT, "Each utterance decoded as a live stream in chunks of C frames (20 ms each), "
        + "left context %s; latency is the chunk's duration plus compute.%n%n", any == null ? "?"
            : any.path("decoding").asText().replaceAll(".*left context ([0-9]+ frames).*", "$1")));
    sb.append("| model | stream cache | whole utterance");
    for (int c : chunks) sb.append(String.format(Locale.ROOT, " | %d ms (C = %d)", 20 * c, c));
    sb.append(" |\n|---|---|---");
    for (int i = 0; i < chunks.size(); i++) sb.append("|---");
    sb.append("|\n");
    for (int i = 0; i < 3; i++) {
      String kind = "not run";
      for (JsonNode s : streamed[i]) if (s != null) kind = s.path("decoding").asText().replaceAll(".*, ([a-z_]+) cache$", "$1");
      long floats = (long) bench[i].path("cache_bytes_per_frame_per_layer").asDouble() / 4;
      if (kind.equals("key_value")) floats = (long) bench[0].path("cache_bytes_per_frame_per_layer").asDouble() / 4;
      sb.append(String.format(Locale.ROOT, "| %s | %s, %d floats / frame / layer | %.2f%%", LABELS[i],
          kind.replace('_', '/').replace("key/value", "K/V"), floats, 100 * wer[i].path("wer").asDouble()));
      for (JsonNode s : streamed[i]) sb.append(s == null ? " | not run" : " | " + werWithInterval(s));
      sb.append(" |\n");
    }
    sb.append("| MLA fine-tuned streamed vs MHA whole utterance (paired) | | ").append(versus(wer[0], wer[2]));
    for (JsonNode s : streamed[2]) sb.append(s == null ? " | -" : " | " + versus(wer[0], s));
    sb.append(" |\n");
    double base = wer[0].path("wer").asDouble();
    if (base > 0) {
      sb.append(String.format(Locale.ROOT, "| MLA fine-tuned / MHA whole-utterance WER | | %.2fx",
          wer[2].path("wer").asDouble() / base));
      for (JsonNode s : streamed[2]) {
        sb.append(s == null ? " | -" : String.format(Locale.ROOT, " | %.2fx", s.path("wer").asDouble() / base));
      }
      sb.append(" |\n");
    }
    sb.append("\nReal-time factor of those streams (compute seconds per second of audio, all chunks of an utterance):\n\n");
    sb.append("| model");
    for (int c : chunks) sb.append(String.format(Locale.ROOT, " | C = %d", c));
    sb.append(" |\n|---");
    for (int i = 0; i < chunks.size(); i++) sb.append("|---");
    sb.append("|\n");
    for (int i = 0; i < 3; i++) {
      sb.append("| ").append(LABELS[i]);
      for (JsonNode s : streamed[i]) {
        sb.append(s == null ? " | -" : String.format(Locale.ROOT, " | %.4f", s.path("real_time_factor").asDouble()));
      }
      sb.append(" |\n");
    }
    boolean chunkAware = !training.path("streaming_chunks").isNull() && !training.path("streaming_chunks").isMissingNode();
    sb.append(chunkAware
        ? String.format(Locale.ROOT, "%nThe fine-tuned model was trained chunk-aware (see Fine-tuning): its streams compute "
            + "the function it learned. The MHA baseline and the converted model were trained on whole utterances, so "
            + "streaming them shows the price of not doing so. This run's fine-tune had %d updates, which recovers only "
            + "part of that price and, early in a schedule, costs whole-utterance WER; the shipped streaming model "
            + "(models/conformer-small-synthetic-mla-streaming, MODEL.md) had 25,000.%n",
            training.path("result").path("steps").asLong())
        : "\nNo model here was trained for streaming (fine-tuned with --no-streaming): every streamed column is the price of "
            + "streaming a model trained on whole utterances.\n");
  }

  /**
   * What "energy kept" measures: plain SVD keeps a share of the weights' squared singular values, whitened SVD a share
   * of the K/V outputs' energy on calibration audio (singular values of W C^1/2): two quantities, never one label.
   */
  /**
   * The baseline's time over the other's, utterance by utterance (both timed the same utterances): the median ratio
   * when the middle half of the ratios lies on one side of 1, else no ratio ("within the spread"), since the machine's
   * noise is then as large as the difference.
   */
  static String speedVersus(JsonNode baseline, JsonNode other) {
    JsonNode a = baseline.path("latency_seconds");
    JsonNode b = other.path("latency_seconds");
    if (!a.isArray() || a.size() == 0 || a.size() != b.size()) return "not paired";
    double[] ratios = new double[a.size()];
    for (int i = 0; i < ratios.length; i++) ratios[i] = a.get(i).asDouble() / b.get(i).asDouble();
    java.util.Arrays.sort(ratios);
    double q1 = Timing.quantile(ratios, 0.25), median = Timing.quantile(ratios, 0.5), q3 = Timing.quantile(ratios, 0.75);
    if (q1 <= 1 && q3 >= 1) {
      return String.format(Locale.ROOT, "within the spread (ratios %.2f-%.2f)", q1, q3);
    }
    return String.format(Locale.ROOT, "%.2fx (%.2f-%.2f)", median, q1, q3);
  }

  /** "MHA 0.4 -> 0.6, MLA converted 0.6 -> 1.9, ...": the machine's load before and after each model's timing. */
  private static String loads(JsonNode[] bench) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < bench.length; i++) {
      double before = bench[i].path("load_average_before").asDouble(-1), after = bench[i].path("load_average_after").asDouble(-1);
      out.add(before < 0 ? LABELS[i] + " not recorded"
          : String.format(Locale.ROOT, "%s %.1f -> %.1f", LABELS[i], before, after));
    }
    return String.join(", ", out);
  }

  /** "72", or the per-layer list with the cache budget that chose it. */
  private static String latentSizes(JsonNode conversion) {
    List<Integer> dims = new ArrayList<>();
    conversion.path("latent_dims").forEach(n -> dims.add(n.asInt()));
    String sizes = dims.isEmpty() ? conversion.path("latent_dim").asText() : ConformerConfig.MlaSettings.describe(dims);
    JsonNode budget = conversion.path("cache_budget");
    return budget.isNumber() ? sizes + " (cache budget " + budget.asDouble() + ")" : sizes;
  }

  private static String energyMeaning(JsonNode conversion) {
    return conversion.path("whitened").asBoolean() ? "share of the K/V outputs' energy on calibration audio"
        : "share of the K/V weights' squared singular values";
  }

  /** "12.21% [11.40, 13.05]": the corpus WER and its bootstrap interval over the report's utterances. */
  static String werWithInterval(JsonNode report) {
    List<EditCounts> counts = wordCounts(report);
    if (counts.isEmpty()) return String.format(Locale.ROOT, "%.2f%%", 100 * report.path("wer").asDouble());
    Bootstrap.Interval ci = Bootstrap.corpusRate(counts);
    return String.format(Locale.ROOT, "%.2f%% [%.2f, %.2f]", 100 * report.path("wer").asDouble(), 100 * ci.low(), 100 * ci.high());
  }

  /**
   * other's WER minus the baseline's in points, paired over the utterances both scored: "+0.35 [-0.21, +0.92], no
   * significant difference (p 0.23)".
   */
  static String versus(JsonNode baseline, JsonNode other) {
    java.util.Map<String, EditCounts> byId = new java.util.HashMap<>();
    for (JsonNode u : other.path("utterances")) byId.put(u.path("id").asText(), counts(u.path("words")));
    List<EditCounts> a = new ArrayList<>();
    List<EditCounts> b = new ArrayList<>();
    for (JsonNode u : baseline.path("utterances")) {
      EditCounts o = byId.get(u.path("id").asText());
      if (o == null) continue;
      a.add(counts(u.path("words")));
      b.add(o);
    }
    if (a.isEmpty() || a.size() != byId.size()) return "not paired (different utterances)";
    Bootstrap.PairedDifference d;
    try {
      d = Bootstrap.paired(a, b);
    } catch (IllegalArgumentException e) {
      return "not paired (different references)";
    }
    String p = d.pValue() < 0.001 ? "p < 0.001" : String.format(Locale.ROOT, "p %.3f", d.pValue());
    return String.format(Locale.ROOT, "%+.2f [%+.2f, %+.2f], %s (%s)", 100 * d.difference(), 100 * d.interval().low(),
        100 * d.interval().high(), d.significant() ? "significant" : "no significant difference", p);
  }

  static List<EditCounts> wordCounts(JsonNode report) {
    List<EditCounts> out = new ArrayList<>();
    for (JsonNode u : report.path("utterances")) out.add(counts(u.path("words")));
    return out;
  }

  private static EditCounts counts(JsonNode w) {
    return new EditCounts(w.path("substitutions").asLong(), w.path("deletions").asLong(), w.path("insertions").asLong(),
        w.path("reference_length").asLong());
  }

  private void plots(JsonNode conversion, JsonNode[] wer, List<Integer> chunks, JsonNode[][] streamed, JsonNode[] bench)
      throws IOException {
    XYChart stream = new XYChartBuilder().width(700).height(420).title("WER of live streams against chunk latency")
        .xAxisTitle("chunk (ms)").yAxisTitle("WER (%)").build();
    stream.getStyler().setXAxisLogarithmic(chunks.size() > 1 && chunks.get(0) > 0);
    for (int i = 0; i < 3; i++) {
      List<Double> x = new ArrayList<>();
      List<Double> y = new ArrayList<>();
      for (int c = 0; c < chunks.size(); c++) {
        if (streamed[i][c] == null) continue;
        x.add(20.0 * chunks.get(c));
        y.add(100 * streamed[i][c].path("wer").asDouble());
      }
      if (!x.isEmpty()) stream.addSeries(LABELS[i] + " (streamed)", x, y).setMarker(SeriesMarkers.CIRCLE);
    }
    if (!chunks.isEmpty()) {
      double full = 100 * wer[0].path("wer").asDouble();
      stream.addSeries("MHA baseline, whole utterance", new double[] {20.0 * chunks.get(0), 20.0 * chunks.get(chunks.size() - 1)},
          new double[] {full, full}).setMarker(SeriesMarkers.NONE);
    } else {
      stream.addSeries("no streamed evaluation", new double[] {1}, new double[] {0});
    }
    save(stream, "streaming_wer_vs_latency.png");

    // the conversion's cost and its recovery: WER with its 95% interval at each model's cache size
    XYChart werChart = new XYChartBuilder().width(700).height(420).title("WER against cache size (95% intervals)")
        .xAxisTitle("cache floats per frame, all layers").yAxisTitle("WER %").build();
    werChart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    int layerCount = conversion.path("layers").size();
    for (int i = 0; i < 3; i++) {
      double w = 100 * wer[i].path("wer").asDouble();
      JsonNode ci = wer[i].path("wer_ci95");  // the evaluation's own bootstrap interval
      double half = ci.isObject() ? 100 * (ci.path("high").asDouble() - ci.path("low").asDouble()) / 2 : 0;
      double floats = bench[i].path("cache_bytes_per_frame_per_layer").asDouble() / 4 * layerCount;
      werChart.addSeries(LABELS[i], new double[] {floats}, new double[] {w}, new double[] {half});
    }
    save(werChart, "wer_vs_cache.png");

    XYChart latency = new XYChartBuilder().width(700).height(420).title("Recognition latency vs utterance length")
        .xAxisTitle("utterance length (s)").yAxisTitle("latency (s)").build();
    latency.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    for (int i = 0; i < 3; i++) {
      double[] x = doubles(bench[i].path("utterance_seconds"));
      double[] y = doubles(bench[i].path("latency_seconds"));
      if (x.length > 0) latency.addSeries(LABELS[i], x, y);
    }
    save(latency, "latency_vs_length.png");

    CategoryChart energy = new CategoryChartBuilder().width(700).height(420).title("Energy kept per layer ("
        + (conversion.path("whitened").asBoolean() ? "K/V outputs on calibration audio" : "K/V weights") + ")")
        .xAxisTitle("layer").yAxisTitle("%").build();
    List<String> ids = new ArrayList<>();
    List<Double> kept = new ArrayList<>();
    for (JsonNode l : conversion.path("layers")) {
      ids.add(l.path("layer").asInt() + " (r " + l.path("latent_dim").asInt() + ")");
      kept.add(100 * l.path("energy_kept").asDouble());
    }
    energy.addSeries("energy kept", ids, kept);
    save(energy, "energy_kept_per_layer.png");

    trainingCurves();
  }

  /**
   * From the fine-tuning metrics.csv: the train loss per update (faint) and its mean over the last 25 updates, the
   * validation loss per evaluation, and the validation WER on a second axis.
   */
  private void trainingCurves() throws IOException {
    XYChart chart = new XYChartBuilder().width(700).height(420).title("Fine-tuning").xAxisTitle("update")
        .yAxisTitle("CTC loss").build();
    Path csv = dir.resolve(Pipeline.FINETUNED).resolve("training").resolve("metrics.csv");
    List<Double> ts = new ArrayList<>(), tl = new ArrayList<>(), vs = new ArrayList<>(), vl = new ArrayList<>();
    List<Double> vw = new ArrayList<>();
    if (Files.exists(csv)) {
      List<String> lines = Files.readAllLines(csv);
      List<String> header = List.of(lines.get(0).split(","));
      int step = header.indexOf("step"), split = header.indexOf("split"), loss = header.indexOf("loss");
      int werColumn = header.indexOf("wer");
      for (String line : lines.subList(1, lines.size())) {
        String[] f = line.split(",", -1);
        if (f.length <= loss || f[loss].isEmpty()) continue;
        boolean train = f[split].equals("train");
        (train ? ts : vs).add(Double.parseDouble(f[step]));
        (train ? tl : vl).add(Double.parseDouble(f[loss]));
        if (!train) vw.add(werColumn >= 0 && !f[werColumn].isEmpty() ? 100 * Double.parseDouble(f[werColumn]) : Double.NaN);
      }
    }
    if (!ts.isEmpty()) {
      chart.addSeries("train", ts, tl).setMarker(SeriesMarkers.NONE).setLineColor(new java.awt.Color(180, 180, 220));
      List<Double> smooth = new ArrayList<>();
      double sum = 0;
      for (int i = 0; i < tl.size(); i++) {
        sum += tl.get(i) - (i >= 25 ? tl.get(i - 25) : 0);
        smooth.add(sum / Math.min(i + 1, 25));
      }
      chart.addSeries("train, mean of 25 updates", ts, smooth).setMarker(SeriesMarkers.NONE);
    }
    if (!vs.isEmpty()) chart.addSeries("validation", vs, vl).setMarker(SeriesMarkers.CIRCLE);
    if (vw.stream().anyMatch(w -> !w.isNaN())) {
      XYSeries s = chart.addSeries("validation WER (%, right axis)", vs, vw);
      s.setYAxisGroup(1);
      s.setMarker(SeriesMarkers.DIAMOND);
      chart.setYAxisGroupTitle(1, "validation WER %");
    }
    if (ts.isEmpty() && vs.isEmpty()) chart.addSeries("no updates recorded", new double[] {0}, new double[] {0});
    save(chart, "training_curves.png");
  }

  private static double[] doubles(JsonNode array) {
    double[] out = new double[array.size()];
    for (int i = 0; i < out.length; i++) out[i] = array.get(i).asDouble();
    return out;
  }

  private void save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, String name) throws IOException {
    byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    AtomicFiles.write(dir.resolve(name), png);
  }
}
