package dev.mha2mla.benchmarks;

import dev.mha2mla.eval.bench.AttentionKernelWorkload;
import dev.mha2mla.eval.bench.AttentionShape;
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
 * The attention core on a full utterance, projections done beforehand: HF-style LibTorch math, the fused rel-pos
 * kernel (MHA, expanded MLA) and the latent kernel (absorbed MLA). These are the roofline's kernel cases.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class AttentionKernelBenchmark {
  @Param("small")
  public String shape;

  @Param({"hf_math", "relpos_kernel", "latent_kernel"})
  public String kernel;

  @Param("100")
  public int frames;

  @Param("1")
  public int batch;

  @Param("0")
  public int threads;

  private AttentionKernelWorkload work;

  @Setup(Level.Trial)
  public void setUp() {
    CpuThreads.configure(threads);
    work = AttentionKernelWorkload.create(AttentionShape.named(shape), AttentionKernelWorkload.Kernel.parse(kernel), batch, frames, 42);
  }

  @Benchmark
  public void run(Blackhole bh) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      bh.consume(work.run());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    work.close();
  }
}
