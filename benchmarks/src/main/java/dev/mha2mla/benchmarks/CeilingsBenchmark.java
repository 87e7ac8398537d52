package dev.mha2mla.benchmarks;

import dev.mha2mla.eval.bench.MachineCeilings;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.Blackhole;

/**
 * This machine's two ceilings for the roofline, measured in the same run as the kernels: {@code copy} moves
 * 2 x copyMegabytes MiB (read + write) per call, {@code gemm} does 2 n^3 flops (LibTorch float32 matmul, n = gemmSize).
 */
public class CeilingsBenchmark extends WorkloadBenchmark<MachineCeilings> {
  @Param("256")
  public int copyMegabytes;

  @Param("1024")
  public int gemmSize;

  @Override
  protected MachineCeilings createWorkload() {
    return new MachineCeilings((long) copyMegabytes << 18, gemmSize);
  }

  @Benchmark
  public void copy() {
    work.copy();
  }

  @Benchmark
  public void gemm(Blackhole bh) {
    timed(bh, work::gemm);
  }
}
