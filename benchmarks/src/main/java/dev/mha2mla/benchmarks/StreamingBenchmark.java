package dev.mha2mla.benchmarks;

import dev.mha2mla.eval.bench.AttentionShape;
import dev.mha2mla.eval.bench.CacheDesign;
import dev.mha2mla.eval.bench.StreamingWorkload;
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
 * One attention layer of a streaming recognizer: a chunk of {@code chunk} frames over {@code cache} kept frames,
 * with a K/V cache (WeNet), an input cache with K/V recomputed (NeMo) or a latent cache (MLA). {@code step} is the
 * layer's whole work per chunk; {@code attend} the kernel call alone (kv_cache and latent_cache only).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class StreamingBenchmark {
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

  @Param("0")
  public int threads;

  private StreamingWorkload work;

  @Setup(Level.Trial)
  public void setUp() {
    CpuThreads.configure(threads);
    work = StreamingWorkload.create(AttentionShape.named(shape), CacheDesign.parse(design), batch, cache, chunk, 42);
  }

  @Benchmark
  public void step(Blackhole bh) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      bh.consume(work.step());
    }
  }

  @Benchmark
  public void attend(Blackhole bh) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      bh.consume(work.attend());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    work.close();
  }
}
