package dev.mha2mla.benchmarks;

import dev.mha2mla.eval.bench.MachineCeilings;
import dev.mha2mla.eval.bench.TimingHarness;
import dev.mha2mla.model.CpuThreads;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * This machine's two ceilings for the roofline, measured in the same run as the kernels: {@code copy} moves
 * 2 x copyMegabytes MiB (read + write) per call, {@code gemm} does 2 n^3 flops (LibTorch float32 matmul, n = gemmSize).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class CeilingsBenchmark {
  @Param("256")
  public int copyMegabytes;

  @Param("1024")
  public int gemmSize;

  @Param("0")
  public int threads;

  private MachineCeilings machine;

  @Setup(Level.Trial)
  public void setUp() {
    CpuThreads.configure(threads);
    machine = new MachineCeilings((long) copyMegabytes << 18, gemmSize);
  }

  @Benchmark
  public void copy() {
    machine.copy();
  }

  @Benchmark
  public void gemm(Blackhole bh) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      bh.consume(machine.gemm());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    machine.close();
  }
}
