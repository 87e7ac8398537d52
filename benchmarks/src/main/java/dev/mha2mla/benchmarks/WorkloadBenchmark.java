package dev.mha2mla.benchmarks;

import dev.mha2mla.model.CpuThreads;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
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
 * What every benchmark here shares: each timed call is one sample (milliseconds), one fork, a short warm-up (the
 * suite's profiles override the counts); {@code threads} (0 = the machine's default) is applied to LibTorch, the
 * kernels and OpenBLAS before the workload is built; the workload is built once per trial and closed after it; each
 * timed call runs in its own {@link PointerScope} with gradients off, so the native tensors it makes are freed when
 * it returns.
 *
 * @param <W> the workload, which owns native memory until closed
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public abstract class WorkloadBenchmark<W extends AutoCloseable> {
  @Param("0")
  public int threads;

  protected W work;

  /** Builds the workload from this benchmark's parameters. */
  protected abstract W createWorkload() throws Exception;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    CpuThreads.configure(threads);
    work = createWorkload();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    work.close();
  }

  /** One timed call; its result goes to the blackhole and its native tensors are freed. */
  protected static void timed(Blackhole bh, Supplier<?> call) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      bh.consume(call.get());
    }
  }
}
