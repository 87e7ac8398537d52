package dev.mha2mla.benchmarks;

import dev.mha2mla.eval.bench.EncoderWorkload;
import dev.mha2mla.eval.bench.TimingHarness;
import dev.mha2mla.model.CpuThreads;
import java.io.IOException;
import java.nio.file.Path;
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
 * The whole conformer encoder on a full utterance, hidden states in, last hidden state out, MHA against MLA
 * (see {@link EncoderWorkload#named}). The flagship models are randomly initialised (about 20 s and 5 GB of heap
 * per fork); the tiny ones are the shipped fixture and its conversion.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx8g"})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class EncoderBenchmark {
  @Param({"tiny_mha", "tiny_mla"})
  public String model;

  @Param("50")
  public int frames;

  @Param("1")
  public int batch;

  /** The shared fixtures folder (holds conformer-tiny). */
  @Param("../shared/fixtures")
  public String fixtures;

  @Param("0")
  public int threads;

  private EncoderWorkload work;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    CpuThreads.configure(threads);
    work = EncoderWorkload.named(model, Path.of(fixtures), batch, frames, 42);
  }

  @Benchmark
  public void forward(Blackhole bh) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      bh.consume(work.forward());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    work.close();
  }
}
