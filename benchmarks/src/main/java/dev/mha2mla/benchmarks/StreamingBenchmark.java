package dev.mha2mla.benchmarks;

import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.benchmarks.workload.CacheDesign;
import dev.mha2mla.benchmarks.workload.StreamingWorkload;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One attention layer of a streaming recognizer: a chunk of {@code chunk} frames over {@code cache} kept frames,
 * with a K/V cache (WeNet), an input cache with K/V recomputed (NeMo) or a latent cache (MLA). {@code step} is the
 * layer's whole work per chunk; {@code attend} the kernel call alone (kv_cache and latent_cache only).
 */
public class StreamingBenchmark extends WorkloadBenchmark<StreamingWorkload> {
  @Param("small")
  public String shape;

  @Param({"kv_cache", "latent_cache"})
  public String design;

  @Param("1")
  public int batch;

  @Param("250")
  public int cache;

  @Param("1")
  public int chunk;

  @Override
  protected StreamingWorkload createWorkload() {
    return StreamingWorkload.create(AttentionShape.named(shape), CacheDesign.parse(design), batch, cache, chunk, 42);
  }

  @Benchmark
  public void step(Blackhole bh) {
    timed(bh, work::step);
  }

  @Benchmark
  public void attend(Blackhole bh) {
    timed(bh, work::attend);
  }
}
