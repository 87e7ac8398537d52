package dev.mha2mla.benchmarks;

import dev.mha2mla.io.RunInfo;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** RESULTS.md of a suite run: the tables, drawn from the summary, and the commands that made them. */
final class ResultsMarkdown {
  private final SuiteSummary s;
  private final StringBuilder md = new StringBuilder();

  private ResultsMarkdown(SuiteSummary s) {
    this.s = s;
  }

  /** @param findings hand-written markdown appended at the end (findings.md of the results folder), or null */
  static String render(SuiteSummary s, List<String> plots, String findings) {
    return new ResultsMarkdown(s).body(s.notes(), s.commands(), plots, findings);
  }

  private String body(List<String> notes, List<String> commands, List<String> plots, String findings) {
    md.append("# mha2mla benchmark results (profile `").append(s.profile()).append("`)\n\n");
    md.append(String.format(Locale.ROOT, "Machine: %s, %d cores, %.1f GiB; %s; Java %s, LibTorch %s, OpenBLAS kernels %s; environment: %s; created %s.%n%n",
        s.run().cpu(), s.run().cpuCores(), s.run().memoryBytes() / 1073741824.0, s.run().os(), s.run().javaVersion(),
        s.run().libtorchVersion(), s.run().blasKernels() == null ? "unknown" : s.run().blasKernels(),
        RunInfo.describe(s.run().environment()), s.run().createdAt()));
    for (String n : notes) md.append("- ").append(n).append('\n');
    md.append("\nTimes are medians over the timed calls (JMH sample mode); `±x%` is half the interquartile range relative to "
        + "the median, `IQR` the whole range relative to the median. Ratios compare cases measured in the same run. Full numbers: "
        + "`summary.json`; raw JMH output: `jmh.json`.\n\n");
    if (s.ceilings() != null) {
      md.append(String.format(Locale.ROOT, "Ceilings measured in this run: copy **%.2f GB/s** (read + write), LibTorch 1024^3 matmul "
          + "**%.1f GFLOP/s**, balance %.1f flops/byte.%n%n", s.ceilings().copyGbytesPerSecond(), s.ceilings().gemmGflopsPerSecond(),
          s.ceilings().balanceFlopsPerByte()));
    }
    targets();
    kernels();
    modules();
    streaming();
    encoder();
    svd();
    memory();
    if (!plots.isEmpty()) {
      md.append("## Plots\n\n");
      for (String p : plots) md.append("![").append(p).append("](").append(p).append(")\n\n");
    }
    md.append("## How this was run\n\n```\n");
    for (String c : commands) md.append(c).append('\n');
    md.append("```\n");
    if (findings != null) md.append('\n').append(findings.strip()).append('\n');
    return md.toString();
  }

  private void targets() {
    md.append("## Targets\n\n| target | goal | measured | reached |\n|---|---|---|---|\n");
    for (SuiteSummary.Target t : s.targets()) {
      md.append("| ").append(t.name()).append(" | ").append(t.goal()).append(" | ").append(t.measured().replace("|", "/"))
          .append(" | ").append(t.reached() == null ? "-" : t.reached() ? "yes" : "**no**").append(" |\n");
    }
    md.append('\n');
  }

  private void kernels() {
    List<SuiteSummary.Case> cases = s.select("attention_kernel.run", Map.of());
    if (cases.isEmpty()) return;
    md.append("## Attention core on full utterances (kernel level)\n\n");
    md.append("HF-style LibTorch math vs the fused rel-pos kernel (MHA; also expanded MLA) vs the latent kernel (absorbed MLA); "
        + "roofline = bound / measured (1 = at the floor).\n\n");
    md.append("| shape | B | T | hf_math ms | relpos_kernel ms | latent_kernel ms | hf/relpos | relpos roofline | latent roofline |\n");
    md.append("|---|---|---|---|---|---|---|---|---|\n");
    for (List<String> key : keys(cases, "shape", "batch", "frames")) {
      Map<String, String> where = Map.of("shape", key.get(0), "batch", key.get(1), "frames", key.get(2));
      SuiteSummary.Case hf = one("attention_kernel.run", where, "kernel", "hf_math");
      SuiteSummary.Case rp = one("attention_kernel.run", where, "kernel", "relpos_kernel");
      SuiteSummary.Case lt = one("attention_kernel.run", where, "kernel", "latent_kernel");
      md.append("| ").append(String.join(" | ", key)).append(" | ").append(ms(hf)).append(" | ").append(ms(rp)).append(" | ")
          .append(ms(lt)).append(" | ").append(hf != null && rp != null ? x(hf.medianMs() / rp.medianMs()) : "-").append(" | ")
          .append(roof(rp)).append(" | ").append(roof(lt)).append(" |\n");
    }
    md.append('\n');
  }

  private void modules() {
    List<SuiteSummary.Case> cases = s.select("attention.forward", Map.of());
    if (cases.isEmpty()) return;
    md.append("## Self-attention block on full utterances (projections included)\n\n");
    md.append("| shape | B | T | mha_torch ms | mha_fused ms | mla_expanded ms | mla_absorbed ms | expanded/mha_fused | absorbed/mha_fused |\n");
    md.append("|---|---|---|---|---|---|---|---|---|\n");
    for (List<String> key : keys(cases, "shape", "batch", "frames")) {
      Map<String, String> where = Map.of("shape", key.get(0), "batch", key.get(1), "frames", key.get(2));
      SuiteSummary.Case torch = one("attention.forward", where, "variant", "mha_torch");
      SuiteSummary.Case fused = one("attention.forward", where, "variant", "mha_fused");
      SuiteSummary.Case exp = one("attention.forward", where, "variant", "mla_expanded");
      SuiteSummary.Case abs = one("attention.forward", where, "variant", "mla_absorbed");
      md.append("| ").append(String.join(" | ", key)).append(" | ").append(ms(torch)).append(" | ").append(ms(fused)).append(" | ")
          .append(ms(exp)).append(" | ").append(ms(abs)).append(" | ").append(ratio(exp, fused)).append(" | ").append(ratio(abs, fused))
          .append(" |\n");
    }
    md.append('\n');
  }

  private void streaming() {
    List<SuiteSummary.Case> cases = s.select("streaming.step", Map.of());
    if (cases.isEmpty()) return;
    md.append("## Streaming: one attention layer per chunk over a cache\n\n");
    md.append("Per chunk: projections of the chunk, cache update, attention of the chunk's queries over cache + chunk, output "
        + "projection. `kv_cache` keeps K and V (2d per frame), `input_cache` keeps x (d) and recomputes K, V over the cache "
        + "every chunk, `latent_cache` keeps c (r) and attends with absorbed queries.\n\n");
    md.append("| shape | B | cache | chunk | kv_cache ms | input_cache ms | latent_cache ms | latent/kv | kv attend ms (roofline) | latent attend ms (roofline) |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|\n");
    for (List<String> key : keys(cases, "shape", "batch", "cache", "chunk")) {
      Map<String, String> where = Map.of("shape", key.get(0), "batch", key.get(1), "cache", key.get(2), "chunk", key.get(3));
      SuiteSummary.Case kv = one("streaming.step", where, "design", "kv_cache");
      SuiteSummary.Case in = one("streaming.step", where, "design", "input_cache");
      SuiteSummary.Case lt = one("streaming.step", where, "design", "latent_cache");
      SuiteSummary.Case kva = one("streaming.attend", where, "design", "kv_cache");
      SuiteSummary.Case lta = one("streaming.attend", where, "design", "latent_cache");
      md.append("| ").append(String.join(" | ", key)).append(" | ").append(ms(kv)).append(" | ").append(ms(in)).append(" | ")
          .append(ms(lt)).append(" | ").append(ratio(lt, kv)).append(" | ")
          .append(kva == null ? "-" : ms(kva) + " (" + roof(kva) + ")").append(" | ")
          .append(lta == null ? "-" : ms(lta) + " (" + roof(lta) + ")").append(" |\n");
    }
    md.append('\n');
    for (SuiteSummary.Crossover c : s.crossovers()) {
      md.append("- Crossover ").append(c.params()).append(": ").append(c.reading()).append(" (latent/kv by chunk ")
          .append(c.chunks()).append(": ");
      List<String> r = new ArrayList<>();
      for (double v : c.latentOverKv()) r.add(String.format(Locale.ROOT, "%.2f", v));
      md.append(String.join(", ", r)).append(")\n");
    }
    md.append('\n');
  }

  private void encoder() {
    List<SuiteSummary.Case> cases = s.select("encoder.forward", Map.of());
    if (cases.isEmpty()) return;
    md.append("## Whole encoder forward on full utterances\n\n| model | B | T | median ms | IQR | MLA/MHA |\n|---|---|---|---|---|---|\n");
    for (SuiteSummary.Case c : cases) {
      String model = c.params().get("model");
      String ratio = "-";
      for (SuiteSummary.Ratio r : s.ratios()) {
        if (r.group().equals("encoder.forward") && r.numerator().equals(model) && r.params().get("frames").equals(c.params().get("frames"))
            && r.params().get("batch").equals(c.params().get("batch"))) {
          ratio = String.format(Locale.ROOT, "%.3f", r.ratio());
        }
      }
      md.append("| ").append(model).append(" | ").append(c.params().get("batch")).append(" | ").append(c.params().get("frames"))
          .append(" | ").append(ms(c)).append(" | ").append(pct(c)).append(" | ").append(ratio).append(" |\n");
    }
    md.append('\n');
  }

  private void svd() {
    List<SuiteSummary.Case> cases = new ArrayList<>(s.select("svd.layer", Map.of()));
    cases.addAll(s.select("svd.model", Map.of()));
    if (cases.isEmpty()) return;
    md.append("## Conversion SVD time\n\n| what | shape | backend | precision | layers | median s | IQR |\n|---|---|---|---|---|---|---|\n");
    for (SuiteSummary.Case c : cases) {
      md.append("| ").append(c.group().equals("svd.layer") ? "one layer" : "whole model").append(" | ").append(c.params().get("shape"))
          .append(" | ").append(c.params().get("backend")).append(" | ").append(c.params().get("precision")).append(" | ")
          .append(c.group().equals("svd.layer") ? "1" : c.params().get("layers")).append(" | ")
          .append(String.format(Locale.ROOT, "%.3f", c.medianMs() / 1e3)).append(" | ").append(pct(c)).append(" |\n");
    }
    md.append('\n');
  }

  private void memory() {
    MemoryReport m = s.memory();
    if (m == null) return;
    md.append("## Memory\n\nCache per frame per layer, from the blocks' `cacheFloatsPerFrame()` x 4 bytes:\n\n");
    md.append("| shape | d | r | K/V cache B | input cache B | latent cache B | K/V / latent |\n|---|---|---|---|---|---|---|\n");
    for (MemoryReport.CachePerFrame c : m.cachePerFrame()) {
      md.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %.2f |%n", c.shape(), c.hidden(), c.latent(), c.kvCacheBytes(),
          c.inputCacheBytes(), c.latentCacheBytes(), c.kvOverLatent()));
    }
    if (!m.budget().isEmpty()) {
      MemoryReport.Budget b0 = m.budget().get(0);
      md.append(String.format(Locale.ROOT, "%nStreams whose caches fit %.0f MiB, %d-frame window, %d layers:%n%n", b0.budgetBytes() / 1048576.0,
          b0.windowFrames(), b0.layers()));
      md.append("| shape | design | B per frame per layer | MB per stream | streams |\n|---|---|---|---|---|\n");
      for (MemoryReport.Budget b : m.budget()) {
        md.append(String.format(Locale.ROOT, "| %s | %s | %d | %.1f | %d |%n", b.shape(), b.design(), b.bytesPerFrameLayer(),
            b.bytesPerStream() / 1e6, b.streams()));
      }
    }
    if (!m.peaks().isEmpty()) {
      md.append("\nPeak resident memory (RSS, native + JVM) above the size just before one call, measured around the call "
          + "(method: " + m.peaks().get(0).method() + "):\n\n| workload | params | increase MiB | cache held MiB |\n|---|---|---|---|\n");
      for (MemoryReport.PeakRow r : m.peaks()) {
        md.append(String.format(Locale.ROOT, "| %s | %s | %.1f | %s |%n", r.group(), r.params(), r.increaseBytes() / 1048576.0,
            r.cacheBytes() == null ? "-" : String.format(Locale.ROOT, "%.1f", r.cacheBytes() / 1048576.0)));
      }
    }
    md.append('\n');
  }

  /** Distinct values of the key parameters, in numeric order where numeric. */
  private static List<List<String>> keys(List<SuiteSummary.Case> cases, String... names) {
    Set<List<String>> seen = new LinkedHashSet<>();
    for (SuiteSummary.Case c : cases) {
      List<String> k = new ArrayList<>();
      for (String n : names) k.add(c.params().get(n));
      seen.add(k);
    }
    TreeSet<List<String>> sorted = new TreeSet<>((a, b) -> {
      for (int i = 0; i < a.size(); i++) {
        int c = compare(a.get(i), b.get(i));
        if (c != 0) return c;
      }
      return 0;
    });
    sorted.addAll(seen);
    return new ArrayList<>(sorted);
  }

  private static int compare(String a, String b) {
    try {
      return Double.compare(Double.parseDouble(a), Double.parseDouble(b));
    } catch (NumberFormatException e) {
      return a.compareTo(b);
    }
  }

  private SuiteSummary.Case one(String group, Map<String, String> where, String param, String value) {
    java.util.HashMap<String, String> w = new java.util.HashMap<>(where);
    w.put(param, value);
    List<SuiteSummary.Case> c = s.select(group, w);
    return c.isEmpty() ? null : c.get(0);
  }

  private static String ms(SuiteSummary.Case c) {
    if (c == null) return "-";
    double v = c.medianMs();
    String t = v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : v >= 1 ? String.format(Locale.ROOT, "%.2f", v)
        : String.format(Locale.ROOT, "%.4f", v);
    return t + " ±" + String.format(Locale.ROOT, "%.0f%%", 50 * c.relativeSpread());
  }

  private static String pct(SuiteSummary.Case c) {
    return String.format(Locale.ROOT, "%.1f%%", 100 * c.relativeSpread());
  }

  private static String roof(SuiteSummary.Case c) {
    if (c == null || c.roofline() == null) return "-";
    return String.format(Locale.ROOT, "%.2f %s", c.roofline().fractionOfBound(), c.roofline().limitedBy());
  }

  private static String ratio(SuiteSummary.Case a, SuiteSummary.Case b) {
    return a == null || b == null ? "-" : String.format(Locale.ROOT, "%.2f", a.medianMs() / b.medianMs());
  }

  private static String x(double v) {
    return String.format(Locale.ROOT, "%.2fx", v);
  }
}
