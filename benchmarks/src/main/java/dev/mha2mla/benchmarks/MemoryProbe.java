package dev.mha2mla.benchmarks;

import dev.mha2mla.benchmarks.workload.AttentionKernelWorkload;
import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.benchmarks.workload.AttentionWorkload;
import dev.mha2mla.benchmarks.workload.CacheDesign;
import dev.mha2mla.benchmarks.workload.EncoderWorkload;
import dev.mha2mla.eval.bench.NativeMemory;
import dev.mha2mla.benchmarks.workload.StreamingWorkload;
import dev.mha2mla.eval.bench.TimingHarness;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.javacpp.Pointer;

/**
 * Peak resident memory around one call of a benchmark's workload, in the suite's own process after the JMH runs:
 * build the workload (its weights, inputs and caches count in the baseline), one warm-up call, then one call under
 * {@link NativeMemory#measure}. Parameters are named as in the JMH benchmarks, so rows and timings line up.
 */
record MemoryProbe(String group, Map<String, String> params) {
  static MemoryProbe of(String group, Object... keyValues) {
    Map<String, String> p = new TreeMap<>();
    for (int i = 0; i < keyValues.length; i += 2) p.put((String) keyValues[i], String.valueOf(keyValues[i + 1]));
    return new MemoryProbe(group, p);
  }

  /** The JMH benchmark this probe's workload belongs to: "attention_kernel.run" to "AttentionKernelBenchmark.run". */
  static String benchmarkOf(String group) {
    String[] parts = group.split("\\.");
    StringBuilder cls = new StringBuilder();
    for (String word : parts[0].split("_")) cls.append(Character.toUpperCase(word.charAt(0))).append(word.substring(1));
    return cls + "Benchmark." + parts[1];
  }

  MemoryReport.PeakRow run(Path fixtures) throws IOException {
    Pointer.trimMemory();
    return switch (group) {
      case "attention.forward" -> {
        try (AttentionWorkload w = AttentionWorkload.create(shape(), integer("batch"), integer("frames"), 42)) {
          AttentionWorkload.Variant v = AttentionWorkload.Variant.parse(params.get("variant"));
          yield measure(() -> w.run(v), null);
        }
      }
      case "attention_kernel.run" -> {
        try (AttentionKernelWorkload w = AttentionKernelWorkload.create(shape(), AttentionKernelWorkload.Kernel.parse(params.get("kernel")),
            integer("batch"), integer("frames"), 42)) {
          yield measure(w::run, null);
        }
      }
      case "streaming.step" -> {
        try (StreamingWorkload w = StreamingWorkload.create(shape(), CacheDesign.parse(params.get("design")), integer("batch"),
            integer("cache"), integer("chunk"), 42)) {
          yield measure(w::step, w.cacheBytes());
        }
      }
      case "encoder.forward" -> {
        try (EncoderWorkload w = EncoderWorkload.named(params.get("model"), fixtures, integer("batch"), integer("frames"), 42)) {
          yield measure(w::forward, null);
        }
      }
      default -> throw new IllegalArgumentException("no memory probe for " + group);
    };
  }

  private MemoryReport.PeakRow measure(Runnable call, Long cacheBytes) {
    TimingHarness.once(call);
    NativeMemory.Peak p = NativeMemory.measure(() -> TimingHarness.once(call));
    return new MemoryReport.PeakRow(group, params, p.baselineBytes(), p.peakBytes(), p.increaseBytes(), p.method(), cacheBytes);
  }

  private AttentionShape shape() {
    return AttentionShape.named(params.get("shape"));
  }

  private int integer(String name) {
    return Integer.parseInt(params.get(name));
  }
}
