package dev.mha2mla.benchmarks;

import dev.mha2mla.eval.bench.AttentionShape;
import dev.mha2mla.eval.bench.AttentionWorkload;
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
 * One self-attention block on a full utterance, x [B, T, d] to [B, T, d]: stock MHA (HF-style LibTorch math),
 * MHA with the fused kernel, MLA expanded, MLA absorbed (see {@link AttentionWorkload}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class AttentionBenchmark {
  @Param("small")
  public String shape;

  @Param({"mha_torch", "mha_fused", "mla_expanded", "mla_absorbed"})
  public String variant;

  @Param("100")
  public int frames;

  @Param("1")
  public int batch;

  @Param("0")
  public int threads;

  private AttentionWorkload work;
  private AttentionWorkload.Variant v;

  @Setup(Level.Trial)
  public void setUp() {
    CpuThreads.configure(threads);
    v = AttentionWorkload.Variant.parse(variant);
    AttentionWorkload.requireRunnable(v);
    work = AttentionWorkload.create(AttentionShape.named(shape), batch, frames, 42);
  }

  @Benchmark
  public void forward(Blackhole bh) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      bh.consume(work.run(v));
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    work.close();
  }
}
