package dev.mha2mla.benchmarks;

import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.benchmarks.workload.SvdWorkload;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Conversion time: the joint SVD of one layer's [Wk; Wv] ({@code layer}) and of every layer of a model
 * ({@code model}), on LibTorch's CPU SVD or cuSOLVER ({@code backend=cusolver} needs a GPU: the driver only asks
 * for it where {@code SvdWorkload.cusolverAvailable()}).
 */
public class SvdBenchmark extends WorkloadBenchmark<SvdWorkload> {
  @Param("small")
  public String shape;

  @Param("libtorch")
  public String backend;

  @Param("float64")
  public String precision;

  /** Layers of the model ({@code model} factors them all; {@code layer} the first). */
  @Param("2")
  public int layers;

  @Override
  protected SvdWorkload createWorkload() {
    if (!precision.equals("float64") && !precision.equals("float32")) {
      throw new IllegalArgumentException("precision must be float32 or float64, got " + precision);
    }
    return SvdWorkload.create(AttentionShape.named(shape), layers, backend, precision.equals("float64"), 42);
  }

  @Benchmark
  public void layer(Blackhole bh) {
    timed(bh, () -> work.convertLayer(0));
  }

  @Benchmark
  public void model(Blackhole bh) {
    timed(bh, () -> {
      work.convertAll();
      return work;
    });
  }
}
