package dev.mha2mla.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mha2mla.benchmarks.workload.AttentionKernelWorkload;
import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.benchmarks.workload.CacheDesign;
import dev.mha2mla.benchmarks.workload.Roofline;
import dev.mha2mla.benchmarks.workload.StreamingWorkload;
import dev.mha2mla.io.RunInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The compact summary of one run of the JMH suite ({@code benchmarks/}): every case's median and spread, the
 * roofline point of every kernel case, MLA-over-MHA time ratios between cases measured in the same run, the
 * streaming crossover, the memory report, and the report's goals ({@link Target}) with what this run reached. Built
 * from JMH's JSON output; nothing here is measured, so it is tested without a clock.
 *
 * <p>Groups are named {@code <class>.<method>} after the JMH benchmark: {@code ceilings.copy}, {@code ceilings.gemm},
 * {@code attention_kernel.run}, {@code attention.forward}, {@code streaming.step}, {@code streaming.attend},
 * {@code encoder.forward}, {@code svd.layer}, {@code svd.model}.
 *
 * @param notes free lines about the run (machine load, what was left out, how it was resumed)
 * @param commands the command lines that produced it
 * @param ceilings null when the run did not measure them (then no roofline points)
 */
public record SuiteSummary(RunInfo run, String profile, List<String> notes, List<String> commands, Ceilings ceilings,
    List<Case> cases, List<Ratio> ratios, List<Crossover> crossovers, MemoryReport memory, List<Target> targets) {

  /** The machine's measured ceilings (medians of the ceilings benchmarks of the same run). */
  public record Ceilings(double copyGbytesPerSecond, double gemmGflopsPerSecond, double balanceFlopsPerByte) {}

  /**
   * One benchmark case. Times are milliseconds per call.
   *
   * @param relativeSpread IQR / median
   * @param samples timed calls behind the quantiles
   * @param roofline the call against its floor (kernel cases only, when ceilings were measured)
   */
  public record Case(String group, Map<String, String> params, double medianMs, double q1Ms, double q3Ms, double iqrMs,
      double relativeSpread, long samples, Roofline.Point roofline) {}

  /**
   * Median time of one case over another's, the two measured in the same run with every other parameter equal.
   * Below 1: the numerator is faster.
   *
   * @param param the parameter that differs ("variant", "kernel", "design", "model", "backend")
   * @param params the parameters both share
   */
  public record Ratio(String group, String param, String numerator, String denominator, Map<String, String> params,
      double ratio) {}

  /**
   * Streaming: per (shape, batch, cache), the latent-cache step time over the K/V-cache step time at each chunk size,
   * and the first chunk at which the latent path is no longer faster (null: faster at every chunk tried).
   */
  public record Crossover(Map<String, String> params, List<Integer> chunks, List<Double> latentOverKv, Integer crossoverChunk,
      String reading) {}

  /**
   * One goal of the report: a measured number against its threshold (the constants below), or a reading without
   * one.
   *
   * @param goal what is compared, in words
   * @param reached null when the run did not measure it (or it is a reading, not a threshold)
   */
  public record Target(String name, String goal, String measured, Boolean reached) {}

  /** Every native kernel should reach this fraction of its roofline bound (bound / measured) ... */
  public static final double KERNEL_MIN_FRACTION_OF_BOUND = 0.5;
  /** ... on utterances of at least this many frames (shorter ones are dominated by per-call overhead). */
  public static final int KERNEL_MIN_FRAMES = 500;
  /**
   * CPU streaming of the flagship shape with a 2000-frame cache, 8 streams, 1 frame per chunk: how many times faster
   * a layer step over the latent cache should be than over the K/V cache (it reads r = d/2 floats per past frame
   * where K/V reads 2d).
   */
  public static final double STREAMING_MIN_LATENT_SPEEDUP = 1.8;
  /** How many times faster the fused rel-pos kernel should be than the HF-style LibTorch math ... */
  public static final double FUSED_MIN_SPEEDUP_OVER_HF_MATH = 2;
  /** ... at this many frames (30 s of audio). */
  public static final int FUSED_FRAMES = 1500;

  /**
   * @param jmh JMH's JSON result (an array of benchmark results; several runs' arrays concatenated are fine)
   * @param memory the run's memory report, or null
   */
  public static SuiteSummary build(JsonNode jmh, MemoryReport memory, RunInfo run, String profile) {
    return build(jmh, memory, run, profile, List.of(), List.of());
  }

  public static SuiteSummary build(JsonNode jmh, MemoryReport memory, RunInfo run, String profile, List<String> notes,
      List<String> commands) {
    // results of the same case from several runs (an A-B-B-A plan, see SuitePlan) pool their samples
    Map<String, List<JsonNode>> byCase = new LinkedHashMap<>();
    for (JsonNode result : jmh) {
      byCase.computeIfAbsent(groupOf(result.path("benchmark").asText()) + " " + paramsOf(result), k -> new ArrayList<>()).add(result);
    }
    List<Case> raw = new ArrayList<>();
    for (List<JsonNode> results : byCase.values()) raw.add(caseOf(results));
    Ceilings ceilings = ceilings(raw);
    List<Case> cases = new ArrayList<>();
    for (Case c : raw) cases.add(ceilings == null ? c : withRoofline(c, ceilings));
    List<Ratio> ratios = new ArrayList<>();
    ratios.addAll(ratios(cases, "attention.forward", "variant", "mla_expanded", "mha_fused"));
    ratios.addAll(ratios(cases, "attention.forward", "variant", "mla_absorbed", "mha_fused"));
    ratios.addAll(ratios(cases, "attention.forward", "variant", "mla_expanded", "mha_torch"));
    ratios.addAll(ratios(cases, "attention.forward", "variant", "mha_fused", "mha_torch"));
    ratios.addAll(ratios(cases, "attention_kernel.run", "kernel", "relpos_kernel", "hf_math"));
    ratios.addAll(ratios(cases, "attention_kernel.run", "kernel", "latent_kernel", "relpos_kernel"));
    ratios.addAll(ratios(cases, "streaming.step", "design", "latent_cache", "kv_cache"));
    ratios.addAll(ratios(cases, "streaming.step", "design", "input_cache", "kv_cache"));
    ratios.addAll(ratios(cases, "streaming.attend", "design", "latent_cache", "kv_cache"));
    for (String family : new String[] {"flagship", "tiny"}) {
      ratios.addAll(ratios(cases, "encoder.forward", "model", family + "_mla", family + "_mha"));
      ratios.addAll(ratios(cases, "encoder.forward", "model", family + "_mla_absorbed", family + "_mha"));
    }
    ratios.addAll(ratios(cases, "svd.layer", "backend", "cusolver", "libtorch"));
    ratios.addAll(ratios(cases, "svd.model", "backend", "cusolver", "libtorch"));
    List<Crossover> crossovers = crossovers(ratios);
    return new SuiteSummary(run, profile, List.copyOf(notes), List.copyOf(commands), ceilings, cases, ratios, crossovers, memory,
        targets(cases, ratios, crossovers, memory));
  }

  /** "dev.mha2mla.benchmarks.AttentionKernelBenchmark.run" to "attention_kernel.run". */
  public static String groupOf(String benchmark) {
    String[] parts = benchmark.split("\\.");
    if (parts.length < 2) return benchmark;
    String cls = parts[parts.length - 2].replaceFirst("Benchmark$", "");
    String snake = cls.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase();
    return snake + "." + parts[parts.length - 1];
  }

  /** Seconds per one unit of JMH's score unit ("ms/op" to 1e-3). */
  static double secondsPer(String scoreUnit) {
    String unit = scoreUnit.split("/")[0];
    return switch (unit) {
      case "s" -> 1;
      case "ms" -> 1e-3;
      case "us" -> 1e-6;
      case "ns" -> 1e-9;
      default -> throw new IllegalArgumentException("unsupported JMH score unit '" + scoreUnit + "' (use a time per op mode)");
    };
  }

  private static Map<String, String> paramsOf(JsonNode result) {
    Map<String, String> params = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = result.path("params").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      params.put(e.getKey(), e.getValue().asText());
    }
    return params;
  }

  /**
   * Results of one case (same benchmark and parameters) from one or more runs, their samples pooled: per-call times
   * from the sample histograms (sample mode), else the per-iteration scores.
   */
  static Case caseOf(List<JsonNode> results) {
    JsonNode first = results.get(0);
    String group = groupOf(first.path("benchmark").asText());
    Map<String, String> params = paramsOf(first);
    List<Double> values = new ArrayList<>();
    List<Long> counts = new ArrayList<>();
    for (JsonNode result : results) addSamples(result.path("primaryMetric"), values, counts);
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    long[] n = counts.stream().mapToLong(Long::longValue).toArray();
    long samples = 0;
    for (long c : n) samples += c;
    double median = weightedQuantile(v, n, 0.5);
    double q1 = weightedQuantile(v, n, 0.25);
    double q3 = weightedQuantile(v, n, 0.75);
    return new Case(group, params, median, q1, q3, q3 - q1, median > 0 ? (q3 - q1) / median : 0, samples, null);
  }

  /**
   * The p-quantile of a weighted sample, {@code values[i]} seen {@code counts[i]} times (JMH's sample-time
   * histograms): the same interpolation as {@link dev.mha2mla.eval.bench.Timing#quantile} on the expanded sorted sample, without expanding it.
   */
  public static double weightedQuantile(double[] values, long[] counts, double p) {
    if (values.length != counts.length) throw new IllegalArgumentException("values and counts differ in length");
    Integer[] order = new Integer[values.length];
    long n = 0;
    for (int i = 0; i < values.length; i++) {
      order[i] = i;
      if (counts[i] < 0) throw new IllegalArgumentException("negative count " + counts[i]);
      n += counts[i];
    }
    if (n == 0) throw new IllegalArgumentException("quantile of no values");
    Arrays.sort(order, (a, b) -> Double.compare(values[a], values[b]));
    double h = (n - 1) * p;
    long lo = (long) Math.floor(h);
    double low = nth(values, counts, order, lo);
    double high = nth(values, counts, order, Math.min(lo + 1, n - 1));
    return low + (h - lo) * (high - low);
  }

  private static double nth(double[] values, long[] counts, Integer[] order, long k) {
    long seen = 0;
    for (int i : order) {
      seen += counts[i];
      if (k < seen) return values[i];
    }
    return values[order[order.length - 1]];
  }

  /** Per-call times (ms) and their counts from one result's metric: histogram bins, else per-iteration scores. */
  private static void addSamples(JsonNode metric, List<Double> values, List<Long> counts) {
    double toMs = secondsPer(metric.path("scoreUnit").asText("ms/op")) * 1e3;
    JsonNode histogram = metric.path("rawDataHistogram");
    if (histogram.isArray() && histogram.size() > 0) {
      for (JsonNode fork : histogram) {
        for (JsonNode iteration : fork) {
          for (JsonNode bin : iteration) {
            values.add(bin.get(0).asDouble() * toMs);
            counts.add(bin.get(1).asLong());
          }
        }
      }
      return;
    }
    int before = values.size();
    for (JsonNode fork : metric.path("rawData")) {
      for (JsonNode score : fork) {
        values.add(score.asDouble() * toMs);
        counts.add(1L);
      }
    }
    if (values.size() == before) {
      values.add(metric.path("score").asDouble() * toMs);
      counts.add(1L);
    }
  }

  /** Copy bandwidth and matmul rate from the ceilings cases (their parameters give the bytes and flops). */
  static Ceilings ceilings(List<Case> cases) {
    Case copy = first(cases, c -> c.group().equals("ceilings.copy"));
    Case gemm = first(cases, c -> c.group().equals("ceilings.gemm"));
    if (copy == null || gemm == null) return null;
    double copyBytes = 2.0 * Long.parseLong(copy.params().getOrDefault("copyMegabytes", "256")) * (1L << 20);
    long n = Long.parseLong(gemm.params().getOrDefault("gemmSize", "1024"));
    double flops = 2.0 * n * n * n;
    double bandwidth = copyBytes / (copy.medianMs() / 1e3);
    double rate = flops / (gemm.medianMs() / 1e3);
    return new Ceilings(bandwidth / 1e9, rate / 1e9, rate / bandwidth);
  }

  /** The floor of a kernel case, from its parameters; null for cases that are not single kernel calls. */
  public static Roofline.Cost costOf(Case c) {
    Map<String, String> p = c.params();
    if (c.group().equals("attention_kernel.run")) {
      return AttentionKernelWorkload.cost(AttentionShape.named(p.get("shape")), AttentionKernelWorkload.Kernel.parse(p.get("kernel")),
          Integer.parseInt(p.get("batch")), Integer.parseInt(p.get("frames")));
    }
    if (c.group().equals("streaming.attend")) {
      return StreamingWorkload.attendCost(AttentionShape.named(p.get("shape")), CacheDesign.parse(p.get("design")),
          Integer.parseInt(p.get("batch")), Integer.parseInt(p.get("cache")), Integer.parseInt(p.get("chunk")));
    }
    return null;
  }

  private static Case withRoofline(Case c, Ceilings m) {
    Roofline.Cost cost = costOf(c);
    if (cost == null) return c;
    Roofline.Point point = Roofline.point(cost, new Roofline.Ceilings(m.copyGbytesPerSecond() * 1e9, m.gemmGflopsPerSecond() * 1e9),
        c.medianMs() / 1e3);
    return new Case(c.group(), c.params(), c.medianMs(), c.q1Ms(), c.q3Ms(), c.iqrMs(), c.relativeSpread(), c.samples(), point);
  }

  /** Numerator over denominator for every pair of cases of {@code group} that differ only in {@code param}. */
  static List<Ratio> ratios(List<Case> cases, String group, String param, String numerator, String denominator) {
    List<Ratio> out = new ArrayList<>();
    for (Case num : cases) {
      if (!num.group().equals(group) || !numerator.equals(num.params().get(param))) continue;
      Map<String, String> shared = new TreeMap<>(num.params());
      shared.remove(param);
      for (Case den : cases) {
        if (!den.group().equals(group) || !denominator.equals(den.params().get(param))) continue;
        Map<String, String> other = new TreeMap<>(den.params());
        other.remove(param);
        if (other.equals(shared)) out.add(new Ratio(group, param, numerator, denominator, shared, num.medianMs() / den.medianMs()));
      }
    }
    return out;
  }

  static List<Crossover> crossovers(List<Ratio> ratios) {
    Map<Map<String, String>, TreeMap<Integer, Double>> byKey = new LinkedHashMap<>();
    for (Ratio r : ratios) {
      if (!r.group().equals("streaming.step") || !r.numerator().equals("latent_cache")) continue;
      Map<String, String> key = new TreeMap<>(r.params());
      int chunk = Integer.parseInt(key.remove("chunk"));
      byKey.computeIfAbsent(key, k -> new TreeMap<>()).put(chunk, r.ratio());
    }
    List<Crossover> out = new ArrayList<>();
    for (Map.Entry<Map<String, String>, TreeMap<Integer, Double>> e : byKey.entrySet()) {
      Integer cross = null;
      for (Map.Entry<Integer, Double> c : e.getValue().entrySet()) {
        if (c.getValue() >= 1) {
          cross = c.getKey();
          break;
        }
      }
      List<Integer> chunks = new ArrayList<>(e.getValue().keySet());
      String reading;
      if (cross == null) {
        reading = "latent cache faster at every chunk tried (up to " + chunks.get(chunks.size() - 1) + " frames)";
      } else if (cross.equals(chunks.get(0))) {
        reading = "latent cache not faster even at the smallest chunk tried (" + cross + " frames)";
      } else {
        int below = e.getValue().lowerKey(cross);
        reading = "latent cache faster up to " + below + " frame" + (below == 1 ? "" : "s") + " per chunk, K/V cache from "
            + cross + " (crossover between " + below + " and " + cross + ")";
      }
      out.add(new Crossover(e.getKey(), chunks, new ArrayList<>(e.getValue().values()), cross, reading));
    }
    return out;
  }

  static List<Target> targets(List<Case> cases, List<Ratio> ratios, List<Crossover> crossovers, MemoryReport memory) {
    List<Target> out = new ArrayList<>();
    // 1. native kernels near their roofline bound on long inputs
    String goal = String.format(java.util.Locale.ROOT, "every native kernel >= %.0f%% of its roofline bound for T >= %d",
        100 * KERNEL_MIN_FRACTION_OF_BOUND, KERNEL_MIN_FRAMES);
    double worst = Double.POSITIVE_INFINITY;
    String worstAt = null;
    StringBuilder each = new StringBuilder();
    for (Case c : cases) {
      if (!c.group().equals("attention_kernel.run") || c.roofline() == null || c.params().get("kernel").equals("hf_math")) continue;
      if (Integer.parseInt(c.params().get("frames")) < KERNEL_MIN_FRAMES) continue;
      double f = c.roofline().fractionOfBound();
      if (each.length() > 0) each.append("; ");
      each.append(String.format(java.util.Locale.ROOT, "%s %s T=%s B=%s: %.2f", c.params().get("kernel"), c.params().get("shape"),
          c.params().get("frames"), c.params().get("batch"), f));
      if (f < worst) {
        worst = f;
        worstAt = c.params().get("kernel") + " " + c.params().get("shape") + " T=" + c.params().get("frames") + " B=" + c.params().get("batch");
      }
    }
    out.add(worstAt == null ? new Target("kernels_at_roofline", goal, "not measured in this run", null)
        : new Target("kernels_at_roofline", goal,
            String.format(java.util.Locale.ROOT, "lowest %.2f of bound (%s); %s", worst, worstAt, each),
            worst >= KERNEL_MIN_FRACTION_OF_BOUND));
    // 2. streaming with a long cache and one frame per chunk: the latent cache's step faster than the K/V cache's
    Ratio stream = first(ratios, r -> r.group().equals("streaming.step") && r.numerator().equals("latent_cache")
        && r.denominator().equals("kv_cache") && "2000".equals(r.params().get("cache")) && "8".equals(r.params().get("batch"))
        && "1".equals(r.params().get("chunk")) && "flagship".equals(r.params().get("shape")));
    Ratio streamAttend = first(ratios, r -> r.group().equals("streaming.attend") && r.numerator().equals("latent_cache")
        && "2000".equals(r.params().get("cache")) && "8".equals(r.params().get("batch")) && "1".equals(r.params().get("chunk"))
        && "flagship".equals(r.params().get("shape")));
    goal = String.format(java.util.Locale.ROOT,
        "CPU streaming, flagship, cache 2000, batch 8, chunk 1: latent cache >= %.1fx faster than K/V cache",
        STREAMING_MIN_LATENT_SPEEDUP);
    out.add(stream == null ? new Target("streaming_latent_speedup", goal, "not measured in this run", null)
        : new Target("streaming_latent_speedup", goal, String.format(java.util.Locale.ROOT,
            "%.2fx per layer step (projections + attention)%s", 1 / stream.ratio(),
            streamAttend == null ? "" : String.format(java.util.Locale.ROOT, "; %.2fx for the attention kernel alone", 1 / streamAttend.ratio())),
            1 / stream.ratio() >= STREAMING_MIN_LATENT_SPEEDUP));
    // 3. the crossover chunk size (a reading, not a threshold)
    StringBuilder cross = new StringBuilder();
    for (Crossover c : crossovers) {
      if (cross.length() > 0) cross.append("; ");
      cross.append(c.params()).append(": ").append(c.reading());
    }
    out.add(new Target("streaming_crossover", "the chunk size from which the K/V cache beats the latent cache",
        cross.length() == 0 ? "not measured in this run" : cross.toString(), null));
    // 4. MLA encoder forward on full utterances no slower than MHA
    List<Ratio> encoder = ratios.stream().filter(r -> r.group().equals("encoder.forward") && r.numerator().endsWith("_mla")).toList();
    goal = "MLA encoder forward on full utterances no slower than MHA (time ratio <= 1)";
    if (encoder.isEmpty()) {
      out.add(new Target("encoder_mla_not_slower", goal, "not measured in this run", null));
    } else {
      StringBuilder m = new StringBuilder();
      boolean ok = true;
      for (Ratio r : encoder) {
        if (m.length() > 0) m.append("; ");
        m.append(String.format(java.util.Locale.ROOT, "%s T=%s B=%s: %.3f", r.numerator(), r.params().get("frames"), r.params().get("batch"),
            r.ratio()));
        ok &= r.ratio() <= 1.0;
      }
      out.add(new Target("encoder_mla_not_slower", goal, m.toString(), ok));
    }
    // 5. fused rel-pos kernel against the HF-style math on a 30 s input
    List<Ratio> fused = ratios.stream().filter(r -> r.group().equals("attention_kernel.run") && r.numerator().equals("relpos_kernel")
        && Integer.toString(FUSED_FRAMES).equals(r.params().get("frames"))).toList();
    goal = String.format(java.util.Locale.ROOT, "fused rel-pos kernel >= %.0fx faster than the HF-style LibTorch math at T = %d",
        FUSED_MIN_SPEEDUP_OVER_HF_MATH, FUSED_FRAMES);
    if (fused.isEmpty()) {
      out.add(new Target("fused_vs_hf_math", goal, "not measured in this run", null));
    } else {
      StringBuilder m = new StringBuilder();
      boolean ok = true;
      for (Ratio r : fused) {
        if (m.length() > 0) m.append("; ");
        m.append(String.format(java.util.Locale.ROOT, "%s B=%s: %.2fx", r.params().get("shape"), r.params().get("batch"), 1 / r.ratio()));
        ok &= 1 / r.ratio() >= FUSED_MIN_SPEEDUP_OVER_HF_MATH;
      }
      out.add(new Target("fused_vs_hf_math", goal, m.toString(), ok));
    }
    // 6. cache memory per frame per layer 4x smaller at r = d / 2 (exact)
    goal = "cache bytes per frame per layer 4x smaller at r = d/2 (exact, from the blocks' cacheFloatsPerFrame)";
    MemoryReport.CachePerFrame flagship = memory == null ? null
        : first(memory.cachePerFrame(), c -> c.latent() * 2 == c.hidden() && c.shape().equals("flagship"));
    out.add(flagship == null ? new Target("cache_4x_smaller", goal, "not measured in this run", null)
        : new Target("cache_4x_smaller", goal, String.format(java.util.Locale.ROOT, "K/V %d B, latent %d B: %sx",
            flagship.kvCacheBytes(), flagship.latentCacheBytes(), ratioText(flagship.kvCacheBytes(), flagship.latentCacheBytes())),
            flagship.kvCacheBytes() == 4 * flagship.latentCacheBytes()));
    return out;
  }

  private static String ratioText(long a, long b) {
    return a % b == 0 ? Long.toString(a / b) : String.format(java.util.Locale.ROOT, "%.3f", (double) a / b);
  }

  private static <T> T first(List<T> items, Predicate<T> p) {
    for (T t : items) if (p.test(t)) return t;
    return null;
  }

  /** The cases of a group whose parameters include every entry of {@code where}. */
  public List<Case> select(String group, Map<String, String> where) {
    return cases.stream().filter(c -> c.group().equals(group)
        && where.entrySet().stream().allMatch(e -> Objects.equals(c.params().get(e.getKey()), e.getValue()))).toList();
  }
}
