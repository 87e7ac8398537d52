package dev.mha2mla.benchmarks;

import dev.mha2mla.benchmarks.workload.EncoderWorkload;
import java.io.IOException;
import java.nio.file.Path;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The whole conformer encoder on a full utterance, hidden states in, last hidden state out, MHA against MLA
 * (see {@link EncoderWorkload#named}). The flagship models are randomly initialised (about 20 s and 5 GB of heap
 * per fork); the tiny ones are the fixture model conformer-tiny and its conversion.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xmx8g"})
public class EncoderBenchmark extends WorkloadBenchmark<EncoderWorkload> {
  @Param({"tiny_mha", "tiny_mla"})
  public String model;

  @Param("50")
  public int frames;

  @Param("1")
  public int batch;

  /** The fixtures folder (holds conformer-tiny), relative to the repository root. */
  @Param("java/src/test/resources/fixtures")
  public String fixtures;

  @Override
  protected EncoderWorkload createWorkload() throws IOException {
    return EncoderWorkload.named(model, Path.of(fixtures), batch, frames, 42);
  }

  @Benchmark
  public void forward(Blackhole bh) {
    timed(bh, work::forward);
  }
}
