package dev.mha2mla.benchmarks;

import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.benchmarks.workload.AttentionWorkload;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One self-attention block on a full utterance, x [B, T, d] to [B, T, d]: stock MHA (HF-style LibTorch math),
 * MHA with the fused kernel, MLA expanded, MLA absorbed (see {@link AttentionWorkload}).
 */
public class AttentionBenchmark extends WorkloadBenchmark<AttentionWorkload> {
  @Param("small")
  public String shape;

  @Param({"mha_torch", "mha_fused", "mla_expanded", "mla_absorbed"})
  public String variant;

  @Param("100")
  public int frames;

  @Param("1")
  public int batch;

  private AttentionWorkload.Variant v;

  @Override
  protected AttentionWorkload createWorkload() {
    v = AttentionWorkload.Variant.parse(variant);
    AttentionWorkload.requireRunnable(v);
    return AttentionWorkload.create(AttentionShape.named(shape), batch, frames, 42);
  }

  @Benchmark
  public void forward(Blackhole bh) {
    timed(bh, () -> work.run(v));
  }
}
