package dev.mha2mla.benchmarks;

import dev.mha2mla.eval.bench.AttentionShape;
import dev.mha2mla.eval.bench.SvdWorkload;
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
 * Conversion time: the joint SVD of one layer's [Wk; Wv] ({@code layer}) and of every layer of a model
 * ({@code model}), on LibTorch's CPU SVD or cuSOLVER ({@code backend=cusolver} needs a GPU: the driver only asks
 * for it where {@code SvdWorkload.cusolverAvailable()}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class SvdBenchmark {
  @Param("small")
  public String shape;

  @Param("libtorch")
  public String backend;

  @Param("float64")
  public String precision;

  /** Layers of the model ({@code model} factors them all; {@code layer} the first). */
  @Param("2")
  public int layers;

  @Param("0")
  public int threads;

  private SvdWorkload work;

  @Setup(Level.Trial)
  public void setUp() {
    CpuThreads.configure(threads);
    if (!precision.equals("float64") && !precision.equals("float32")) {
      throw new IllegalArgumentException("precision must be float32 or float64, got " + precision);
    }
    work = SvdWorkload.create(AttentionShape.named(shape), layers, backend, precision.equals("float64"), 42);
  }

  @Benchmark
  public void layer(Blackhole bh) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      bh.consume(work.convertLayer(0));
    }
  }

  @Benchmark
  public void model() {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      work.convertAll();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    work.close();
  }
}
