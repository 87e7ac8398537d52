package dev.mha2mla.benchmarks;

import dev.mha2mla.benchmarks.workload.AttentionKernelWorkload;
import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.benchmarks.workload.CacheDesign;
import dev.mha2mla.benchmarks.workload.Roofline;
import dev.mha2mla.benchmarks.workload.StreamingWorkload;
import java.util.ArrayList;
import java.util.List;

/**
 * What a profile of the suite measures: the JMH runs and the memory probes.
 *
 * <ul>
 *   <li>{@code smoke}: every benchmark method once on tiny shapes, one short iteration (CI; well under a minute);
 *   <li>{@code publish}: the set behind benchmarks/results, about 19 minutes on the 2-vCPU build machine (see RESULTS.md);
 *   <li>{@code full}: the whole grid (T = 100..3000, batch 1/4/8, both shapes, chunks 1..32 over caches
 *       250..4000, the flagship encoder at three lengths); hours on 2 cores, meant for a larger machine.
 * </ul>
 *
 * Iterations are chosen per run from a rough estimate of one call's time: many short iterations for fast calls,
 * few single-call iterations for calls of a second or more.
 */
record SuitePlan(String profile, List<JmhRun> runs, List<MemoryProbe> probes, boolean flagshipBudget) {
  /** HF math materialises B H T^2 floats several times over: above this it is skipped (it would swap or fail). */
  static final double HF_MATH_LIMIT_BYTES = 6e9;
  /** Nominal rates for choosing iteration lengths only (never reported): a loaded 2-core CPU. */
  private static final double NOMINAL_FLOPS = 20e9;
  private static final double NOMINAL_BYTES = 5e9;

  static SuitePlan named(String profile) {
    return switch (profile) {
      case "smoke" -> smoke();
      case "publish" -> publish();
      case "full" -> full();
      default -> throw new IllegalArgumentException("unknown profile '" + profile + "': use smoke, publish or full");
    };
  }

  static SuitePlan smoke() {
    List<JmhRun> runs = new ArrayList<>();
    // one case forks (so CI exercises JMH's forked JVMs); the rest run in this JVM, to stay within seconds
    runs.add(JmhRun.of("CeilingsBenchmark.copy").param("copyMegabytes", 16).iterations(0, 100, 1, 100).forks(1).build());
    runs.add(tiny(JmhRun.of("CeilingsBenchmark.gemm").param("gemmSize", 256)));
    runs.add(tiny(JmhRun.of("AttentionKernelBenchmark.run").param("shape", "small")
        .param("kernel", "hf_math", "relpos_kernel", "latent_kernel").param("frames", 64).param("batch", 1)));
    runs.add(tiny(JmhRun.of("AttentionBenchmark.forward").param("shape", "small")
        .param("variant", "mha_torch", "mha_fused", "mla_expanded", "mla_absorbed").param("frames", 64).param("batch", 1)));
    runs.add(tiny(JmhRun.of("StreamingBenchmark.step").param("shape", "small")
        .param("design", "kv_cache", "input_cache", "latent_cache").param("batch", 2).param("cache", 100).param("chunk", 1, 4)));
    runs.add(tiny(JmhRun.of("StreamingBenchmark.attend").param("shape", "small").param("design", "kv_cache", "latent_cache")
        .param("batch", 2).param("cache", 100).param("chunk", 1)));
    runs.add(tiny(JmhRun.of("EncoderBenchmark.forward").param("model", "tiny_mha", "tiny_mla").param("frames", 32).param("batch", 1)));
    runs.add(tiny(JmhRun.of("SvdBenchmark.layer").param("shape", "small").param("layers", 2)));
    runs.add(tiny(JmhRun.of("SvdBenchmark.model").param("shape", "small").param("layers", 2)));
    runs.add(tiny(JmhRun.of("StreamedModelBenchmark.stream").param("chunk", 16).param("seconds", 1)));
    List<MemoryProbe> probes = new ArrayList<>();
    for (String v : new String[] {"mha_torch", "mha_fused", "mla_expanded", "mla_absorbed"}) {
      probes.add(MemoryProbe.of("attention.forward", "shape", "small", "variant", v, "frames", 64, "batch", 1));
    }
    for (CacheDesign d : CacheDesign.values()) {
      probes.add(MemoryProbe.of("streaming.step", "shape", "small", "design", d.id(), "batch", 2, "cache", 100, "chunk", 1));
    }
    probes.add(MemoryProbe.of("encoder.forward", "model", "tiny_mha", "frames", 32, "batch", 1));
    probes.add(MemoryProbe.of("encoder.forward", "model", "tiny_mla", "frames", 32, "batch", 1));
    return new SuitePlan("smoke", runs, probes, false);
  }

  private static JmhRun tiny(JmhRun.Builder b) {
    return b.iterations(0, 100, 1, 100).forks(0).build();
  }

  static SuitePlan publish() {
    List<JmhRun> runs = new ArrayList<>();
    ceilings(runs);
    kernels(runs, AttentionShape.FLAGSHIP, new int[] {100, 250, 500, 1000, 1500, 3000}, new int[] {1});
    kernels(runs, AttentionShape.FLAGSHIP, new int[] {250, 750, 1500}, new int[] {4});
    kernels(runs, AttentionShape.SMALL, new int[] {100, 500, 1500}, new int[] {1});
    modules(runs, AttentionShape.FLAGSHIP, new int[] {100, 250, 500, 1000, 1500}, new int[] {1});
    modules(runs, AttentionShape.FLAGSHIP, new int[] {250}, new int[] {8});
    modules(runs, AttentionShape.SMALL, new int[] {100, 1500}, new int[] {1});
    streaming(runs, AttentionShape.FLAGSHIP, new int[] {8}, new int[] {2000}, new int[] {1, 4, 8, 16, 32}, true);
    streaming(runs, AttentionShape.FLAGSHIP, new int[] {8}, new int[] {250, 500, 1000, 4000}, new int[] {1, 4, 32}, false);
    streaming(runs, AttentionShape.FLAGSHIP, new int[] {1}, new int[] {2000}, new int[] {1, 32}, false);
    encoder(runs, new String[] {"tiny_mha", "tiny_mla"}, new int[] {250, 1500}, 1);
    encoder(runs, new String[] {"flagship_mha", "flagship_mla"}, new int[] {250}, 1);
    // one layer (float64 and float32) and the whole model (24 flagship layers: one timed conversion)
    svd(runs, AttentionShape.FLAGSHIP, 24, true);
    svd(runs, AttentionShape.SMALL, 4, true);
    // the shipped MHA model over K/V against the shipped streaming MLA model over its latent, same 10 s of audio
    runs.add(JmhRun.of("StreamedModelBenchmark.stream").param("chunk", 1, 16).param("seconds", 10)
        .iterations(1, 2000, 5, 2000).build());
    return new SuitePlan("publish", runs, publishProbes(new int[] {100, 250, 500, 1000, 1500, 3000}), true);
  }

  static SuitePlan full() {
    List<JmhRun> runs = new ArrayList<>();
    ceilings(runs);
    int[] frames = {100, 250, 500, 1000, 1500, 3000};
    int[] batches = {1, 4, 8};
    for (AttentionShape s : new AttentionShape[] {AttentionShape.FLAGSHIP, AttentionShape.SMALL}) {
      kernels(runs, s, frames, batches);
      modules(runs, s, frames, batches);
      streaming(runs, s, new int[] {1, 8}, new int[] {250, 500, 1000, 2000, 4000}, new int[] {1, 4, 8, 16, 32}, true);
    }
    encoder(runs, new String[] {"tiny_mha", "tiny_mla"}, new int[] {250, 500, 1500}, 1);
    encoder(runs, new String[] {"flagship_mha", "flagship_mla", "flagship_mla_absorbed"}, new int[] {250, 500, 1000}, 1);
    svd(runs, AttentionShape.FLAGSHIP, 24, true);
    svd(runs, AttentionShape.SMALL, 4, false);
    return new SuitePlan("full", runs, publishProbes(frames), true);
  }

  private static List<MemoryProbe> publishProbes(int[] frames) {
    List<MemoryProbe> probes = new ArrayList<>();
    for (AttentionShape s : new AttentionShape[] {AttentionShape.FLAGSHIP, AttentionShape.SMALL}) {
      for (int t : frames) {
        for (String v : new String[] {"mha_torch", "mha_fused", "mla_expanded", "mla_absorbed"}) {
          if (v.equals("mha_torch") && AttentionKernelWorkload.hfMathScoreBytes(s, 1, t) > HF_MATH_LIMIT_BYTES) continue;
          probes.add(MemoryProbe.of("attention.forward", "shape", s.name(), "variant", v, "frames", t, "batch", 1));
        }
      }
    }
    for (CacheDesign d : CacheDesign.values()) {
      probes.add(MemoryProbe.of("streaming.step", "shape", "flagship", "design", d.id(), "batch", 8, "cache", 2000, "chunk", 1));
    }
    probes.add(MemoryProbe.of("encoder.forward", "model", "tiny_mha", "frames", 1500, "batch", 1));
    probes.add(MemoryProbe.of("encoder.forward", "model", "tiny_mla", "frames", 1500, "batch", 1));
    return probes;
  }

  private static void ceilings(List<JmhRun> runs) {
    runs.add(JmhRun.of("CeilingsBenchmark.copy").param("copyMegabytes", 256).iterations(1, 500, 5, 500).build());
    runs.add(JmhRun.of("CeilingsBenchmark.gemm").param("gemmSize", 1024).iterations(1, 500, 5, 500).build());
  }

  /**
   * Per (batch, frames) one run of HF math (left out where it would not fit) and one of the two fused kernels.
   * HF math is several times slower than the kernels: apart, each gets iterations for its own call time (with
   * HF math's single-call iterations the kernels' medians rested on three calls and read up to 40% slow).
   */
  private static void kernels(List<JmhRun> runs, AttentionShape s, int[] frames, int[] batches) {
    for (int b : batches) {
      for (int t : frames) {
        Roofline.Cost c = Roofline.relposAttention(b, s.heads(), t, t, s.headDim());
        double fused = 2 * (c.flops() / NOMINAL_FLOPS + c.bytes() / NOMINAL_BYTES);
        if (AttentionKernelWorkload.hfMathScoreBytes(s, b, t) <= HF_MATH_LIMIT_BYTES) {
          double hf = 2 * fused + 6.0 * b * s.heads() * t * t * 4 / NOMINAL_BYTES;
          runs.add(timed(kernelRun(s, b, t, "hf_math"), hf));
        }
        runs.add(timed(kernelRun(s, b, t, "relpos_kernel", "latent_kernel"), fused));
      }
    }
  }

  private static JmhRun.Builder kernelRun(AttentionShape s, int batch, int frames, Object... kernels) {
    return JmhRun.of("AttentionKernelBenchmark.run").param("shape", s.name()).param("kernel", kernels)
        .param("frames", frames).param("batch", batch);
  }

  private static void modules(List<JmhRun> runs, AttentionShape s, int[] frames, int[] batches) {
    for (int b : batches) {
      for (int t : frames) {
        List<String> variants = new ArrayList<>();
        if (AttentionKernelWorkload.hfMathScoreBytes(s, b, t) <= HF_MATH_LIMIT_BYTES) variants.add("mha_torch");
        variants.add("mha_fused");
        variants.add("mla_expanded");
        variants.add("mla_absorbed");
        double d = s.hidden();
        double projections = 2.0 * b * t * d * d * 4 + 2.0 * (2 * t - 1) * d * d;
        Roofline.Cost core = Roofline.latentAttention(b, s.heads(), t, t, s.latent(), s.headDim());
        double seconds = projections / NOMINAL_FLOPS + 2 * core.flops() / NOMINAL_FLOPS
            + 6.0 * b * s.heads() * t * t * 4 / NOMINAL_BYTES;
        runs.add(timed(JmhRun.of("AttentionBenchmark.forward").param("shape", s.name()).param("variant", variants.toArray())
            .param("frames", t).param("batch", b), seconds));
      }
    }
  }

  private static void streaming(List<JmhRun> runs, AttentionShape s, int[] batches, int[] caches, int[] chunks, boolean attend) {
    for (int b : batches) {
      for (int cache : caches) {
        double d = s.hidden();
        int last = chunks[chunks.length - 1];
        Object[] c = new Object[chunks.length];
        for (int i = 0; i < chunks.length; i++) c[i] = chunks[i];
        // K/V and latent: the chunk's projections and one pass over the cache
        double fast = 6.0 * b * last * d * d / NOMINAL_FLOPS
            + StreamingWorkload.attendCost(s, CacheDesign.KV_CACHE, b, cache, last).bytes() / NOMINAL_BYTES;
        runs.add(timed(JmhRun.of("StreamingBenchmark.step").param("shape", s.name()).param("design", "kv_cache", "latent_cache")
            .param("batch", b).param("cache", cache).param("chunk", c), fast));
        // the input cache recomputes K and V over the whole cache every chunk
        double recompute = 4.0 * b * (cache + last) * d * d / NOMINAL_FLOPS + fast;
        runs.add(timed(JmhRun.of("StreamingBenchmark.step").param("shape", s.name()).param("design", "input_cache")
            .param("batch", b).param("cache", cache).param("chunk", c), recompute));
        if (attend) {
          runs.add(timed(JmhRun.of("StreamingBenchmark.attend").param("shape", s.name()).param("design", "kv_cache", "latent_cache")
              .param("batch", b).param("cache", cache).param("chunk", c), fast));
        }
      }
    }
  }

  /**
   * The MLA/MHA encoder ratio is one of the summary's goals ({@code SuiteSummary.Target}), and on this VM the machine's speed drifts between one model's run and
   * the next. So each length is measured twice, models in order and then reversed (A B, B A), and the summary pools
   * both runs' samples per model: a drift that is linear in time weighs on both alike.
   */
  private static void encoder(List<JmhRun> runs, String[] models, int[] frames, int batch) {
    boolean flagship = models[0].startsWith("flagship");
    String[] reversed = new String[models.length];
    for (int i = 0; i < models.length; i++) reversed[i] = models[models.length - 1 - i];
    for (int t : frames) {
      // flagship: about 1.2 GFLOP per frame over 24 layers
      double seconds = flagship ? 1.2e9 * t * batch / NOMINAL_FLOPS : 2e6 * t * batch / NOMINAL_FLOPS;
      for (String[] order : new String[][] {models, reversed}) {
        JmhRun.Builder b = JmhRun.of("EncoderBenchmark.forward").param("model", (Object[]) order).param("frames", t).param("batch", batch);
        // short calls get whole seconds per iteration (400 ms ones spread 16% on the tiny model); calls of seconds
        // (the flagship) five timed calls per run, ten per model in all
        runs.add(seconds < 0.4 ? b.iterations(1, 1000, 4, 1000).build() : b.iterations(1, 1, 5, 1).build());
      }
    }
  }

  private static void svd(List<JmhRun> runs, AttentionShape s, int layers, boolean wholeModel) {
    List<Object> backends = new ArrayList<>();
    backends.add("libtorch");
    if (dev.mha2mla.benchmarks.workload.SvdWorkload.cusolverAvailable()) backends.add("cusolver");
    // a 2d x d float64 SVD: about 30 GFLOP at d = 1024, LAPACK's serial parts dominate on a few cores
    double layerSeconds = 30e9 * Math.pow(s.hidden() / 1024.0, 3) / (NOMINAL_FLOPS / 4);
    runs.add(timed(JmhRun.of("SvdBenchmark.layer").param("shape", s.name()).param("backend", backends.toArray())
        .param("precision", "float64", "float32").param("layers", 1), layerSeconds));
    if (wholeModel) {
      JmhRun.Builder b = JmhRun.of("SvdBenchmark.model").param("shape", s.name()).param("backend", backends.toArray())
          .param("precision", "float64").param("layers", layers);
      // the flagship's 24 layers take minutes on 2 cores: one timed conversion, no warm-up
      runs.add(layers * layerSeconds > 30 ? b.iterations(0, 1, 1, 1).build() : timed(b, layers * layerSeconds));
    }
  }

  /** Iteration settings from an estimate of one call's seconds. */
  private static JmhRun timed(JmhRun.Builder b, double seconds) {
    if (seconds < 0.05) return b.iterations(1, 500, 5, 400).build();
    if (seconds < 0.4) return b.iterations(1, 800, 4, 800).build();
    if (seconds < 6) return b.iterations(1, 1, 3, 1).build(); // an iteration is one call: 1 warm-up call, 3 timed
    return b.iterations(1, 1, 2, 1).build();                  // calls of many seconds: 1 warm-up, 2 timed
  }
}
