package dev.mha2mla.benchmarks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The suite's PNG plots (XChart), drawn from the summary; a plot with no data is not written. */
final class Plots {
  private Plots() {}

  /** Writes every plot it has data for into {@code dir}; returns the file names written. */
  static List<String> write(SuiteSummary s, Path dir) throws IOException {
    List<String> written = new ArrayList<>();
    for (String shape : new String[] {"flagship", "small"}) {
      save(latencyVsFrames(s, shape, "attention.forward", "variant", "Attention block (" + shape + "), batch 1: latency vs T"),
          dir, "attention_latency_" + shape + ".png", written);
      save(latencyVsFrames(s, shape, "attention_kernel.run", "kernel", "Attention core (" + shape + "), batch 1: latency vs T"),
          dir, "kernel_latency_" + shape + ".png", written);
      save(memoryVsFrames(s, shape), dir, "attention_memory_" + shape + ".png", written);
    }
    save(roofline(s), dir, "roofline.png", written);
    save(streaming(s), dir, "streaming_chunks.png", written);
    return written;
  }

  private static void save(XYChart chart, Path dir, String name, List<String> written) throws IOException {
    if (chart == null) return;
    BitmapEncoder.saveBitmapWithDPI(chart, dir.resolve(name).toString(), BitmapEncoder.BitmapFormat.PNG, 110);
    written.add(name);
  }

  private static XYChart chart(String title, String x, String y, boolean logX, boolean logY) {
    XYChart c = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle(x).yAxisTitle(y).build();
    c.getStyler().setXAxisLogarithmic(logX).setYAxisLogarithmic(logY).setLegendPosition(Styler.LegendPosition.InsideNW)
        .setMarkerSize(7).setChartBackgroundColor(java.awt.Color.WHITE);
    return c;
  }

  /** Median ms per call vs T, one series per value of {@code series}, batch 1 of {@code shape}. */
  private static XYChart latencyVsFrames(SuiteSummary s, String shape, String group, String series, String title) {
    Map<String, TreeMap<Integer, double[]>> lines = new TreeMap<>();
    for (SuiteSummary.Case c : s.select(group, Map.of("shape", shape, "batch", "1"))) {
      lines.computeIfAbsent(c.params().get(series), k -> new TreeMap<>())
          .put(Integer.parseInt(c.params().get("frames")), new double[] {c.medianMs(), c.q1Ms(), c.q3Ms()});
    }
    if (lines.values().stream().allMatch(l -> l.size() < 2)) return null;
    XYChart chart = chart(title, "T (frames)", "median ms per call", true, true);
    for (Map.Entry<String, TreeMap<Integer, double[]>> e : lines.entrySet()) {
      double[] x = e.getValue().keySet().stream().mapToDouble(Integer::doubleValue).toArray();
      double[] y = e.getValue().values().stream().mapToDouble(v -> v[0]).toArray();
      chart.addSeries(e.getKey(), x, y); // spreads are in RESULTS.md: error bars below zero break a log axis
    }
    return chart;
  }

  /** Peak resident memory increase of one attention block call vs T (batch 1). */
  private static XYChart memoryVsFrames(SuiteSummary s, String shape) {
    if (s.memory() == null) return null;
    Map<String, TreeMap<Integer, Double>> lines = new TreeMap<>();
    for (MemoryReport.PeakRow r : s.memory().peaks()) {
      if (!r.group().equals("attention.forward") || !shape.equals(r.params().get("shape")) || !"1".equals(r.params().get("batch"))) continue;
      lines.computeIfAbsent(r.params().get("variant"), k -> new TreeMap<>())
          .put(Integer.parseInt(r.params().get("frames")), Math.max(r.increaseBytes(), 1) / 1048576.0);
    }
    if (lines.values().stream().allMatch(l -> l.size() < 2)) return null;
    XYChart chart = chart("Attention block (" + shape + "), batch 1: peak resident memory increase vs T", "T (frames)",
        "MiB above the resident size before the call", true, true);
    for (Map.Entry<String, TreeMap<Integer, Double>> e : lines.entrySet()) {
      chart.addSeries(e.getKey(), e.getValue().keySet().stream().mapToDouble(Integer::doubleValue).toArray(),
          e.getValue().values().stream().mapToDouble(Double::doubleValue).toArray());
    }
    return chart;
  }

  /** Achieved GFLOP/s vs arithmetic intensity, under min(rate, intensity x bandwidth). */
  private static XYChart roofline(SuiteSummary s) {
    if (s.ceilings() == null) return null;
    Map<String, List<double[]>> points = new LinkedHashMap<>();
    for (SuiteSummary.Case c : s.cases()) {
      if (c.roofline() == null) continue;
      String name = c.group().equals("streaming.attend")
          ? "streaming " + c.params().get("design") + " (" + c.params().get("shape") + ")"
          : c.params().get("kernel") + " (" + c.params().get("shape") + ")";
      points.computeIfAbsent(name, k -> new ArrayList<>())
          .add(new double[] {c.roofline().flops() / c.roofline().bytes(), c.roofline().achievedGflopsPerSecond()});
    }
    if (points.isEmpty()) return null;
    double bw = s.ceilings().copyGbytesPerSecond();
    double rate = s.ceilings().gemmGflopsPerSecond();
    double lo = Double.POSITIVE_INFINITY;
    double hi = 0;
    for (List<double[]> l : points.values()) {
      for (double[] p : l) {
        lo = Math.min(lo, p[0]);
        hi = Math.max(hi, p[0]);
      }
    }
    lo = Math.min(lo / 2, rate / bw / 4);
    hi = Math.max(hi * 2, rate / bw * 4);
    XYChart chart = chart(String.format(java.util.Locale.ROOT,
        "Roofline: copy %.1f GB/s, matmul %.1f GFLOP/s (measured in this run)", bw, rate),
        "arithmetic intensity (flops per byte of the floor)", "achieved GFLOP/s", true, true);
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    double knee = rate / bw;
    XYSeries roof = chart.addSeries("roofline", new double[] {lo, knee, hi}, new double[] {lo * bw, rate, rate});
    roof.setMarker(SeriesMarkers.NONE).setLineColor(java.awt.Color.BLACK);
    XYSeries half = chart.addSeries("50% of roofline", new double[] {lo, knee, hi}, new double[] {lo * bw / 2, rate / 2, rate / 2});
    half.setMarker(SeriesMarkers.NONE).setLineColor(java.awt.Color.GRAY);
    for (Map.Entry<String, List<double[]>> e : points.entrySet()) {
      List<double[]> l = new ArrayList<>(e.getValue());
      l.sort(Comparator.comparingDouble(p -> p[0]));
      XYSeries series = chart.addSeries(e.getKey(), l.stream().mapToDouble(p -> p[0]).toArray(), l.stream().mapToDouble(p -> p[1]).toArray());
      series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    }
    return chart;
  }

  /** Streaming: ms per layer step vs chunk size per design, for each (shape, batch, cache) with several chunks. */
  private static XYChart streaming(SuiteSummary s) {
    Map<String, TreeMap<Integer, Double>> lines = new TreeMap<>();
    for (SuiteSummary.Case c : s.cases()) {
      if (!c.group().equals("streaming.step")) continue;
      String key = c.params().get("design") + " (" + c.params().get("shape") + ", B=" + c.params().get("batch") + ", cache "
          + c.params().get("cache") + ")";
      lines.computeIfAbsent(key, k -> new TreeMap<>()).put(Integer.parseInt(c.params().get("chunk")), c.medianMs());
    }
    lines.values().removeIf(l -> l.size() < 3);
    if (lines.isEmpty()) return null;
    XYChart chart = chart("Streaming: one attention layer per chunk, three cache designs", "chunk (frames)",
        "median ms per chunk step", true, true);
    for (Map.Entry<String, TreeMap<Integer, Double>> e : lines.entrySet()) {
      chart.addSeries(e.getKey(), e.getValue().keySet().stream().mapToDouble(Integer::doubleValue).toArray(),
          e.getValue().values().stream().mapToDouble(Double::doubleValue).toArray());
    }
    return chart;
  }
}
