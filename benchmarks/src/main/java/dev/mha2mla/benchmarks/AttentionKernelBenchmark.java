package dev.mha2mla.benchmarks;

import dev.mha2mla.benchmarks.workload.AttentionKernelWorkload;
import dev.mha2mla.benchmarks.workload.AttentionShape;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The attention core on a full utterance, projections done beforehand: HF-style LibTorch math, the fused rel-pos
 * kernel (MHA, expanded MLA) and the latent kernel (absorbed MLA). These are the roofline's kernel cases.
 */
public class AttentionKernelBenchmark extends WorkloadBenchmark<AttentionKernelWorkload> {
  @Param("small")
  public String shape;

  @Param({"hf_math", "relpos_kernel", "latent_kernel"})
  public String kernel;

  @Param("100")
  public int frames;

  @Param("1")
  public int batch;

  @Override
  protected AttentionKernelWorkload createWorkload() {
    return AttentionKernelWorkload.create(AttentionShape.named(shape), AttentionKernelWorkload.Kernel.parse(kernel), batch, frames, 42);
  }

  @Benchmark
  public void run(Blackhole bh) {
    timed(bh, work::run);
  }
}
