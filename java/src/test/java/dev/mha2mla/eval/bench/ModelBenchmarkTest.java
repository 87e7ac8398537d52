package dev.mha2mla.eval.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mha2mla.cli.Main;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mha2mla benchmark} on the shipped small model: the *_benchmark.json the pipeline reads. */
class ModelBenchmarkTest {
  @TempDir
  Path tmp;

  @Test
  void writesTheBenchmarkJsonThePipelineReads() throws Exception {
    Path out = tmp.resolve("tiny_benchmark.json");
    int code = Main.run("benchmark", "--model", Fixtures.conformerTiny().toString(), "--out", out.toString(), "--seconds", "0.5,1",
        "--warmup", "0", "--repeats", "2", "--no-ceilings");
    assertThat(code).isZero();
    JsonNode json = Json.MAPPER.readTree(out.toFile());
    JsonNode summary = json.path("summary");
    // the fields pipeline.ComparisonReport reads
    for (String field : new String[] {"real_time_factor", "real_time_factor_iqr", "peak_native_bytes", "cache_bytes_per_frame_per_layer",
        "utterance_seconds", "latency_seconds"}) {
      assertThat(summary.has(field)).as(field).isTrue();
    }
    assertThat(summary.path("real_time_factor").asDouble()).isPositive();
    assertThat(summary.path("cache_bytes_per_frame_per_layer").asLong()).isEqualTo(2 * 64 * 4); // MHA: 2d floats
    assertThat(summary.path("utterance_seconds").size()).isEqualTo(2);
    assertThat(json.path("attention_type").asText()).isEqualTo("mha");
    JsonNode length = json.path("lengths").get(1);
    assertThat(length.path("frames").asLong()).isEqualTo(49); // 16000 samples through the 320-sample hop
    assertThat(length.path("timed_passes").asInt()).isEqualTo(2);
    assertThat(length.path("real_time_factor").asDouble())
        .isEqualTo(length.path("median_seconds").asDouble() / length.path("audio_seconds").asDouble());
    assertThat(json.path("cache").path("streams_within_budget").asLong()).isPositive();
    assertThat(json.path("run").path("command_line").asText()).contains("benchmark");
  }

  @Test
  void timesEachUtteranceOfADatasetAsThePipelineDoes() throws Exception {
    Path manifest = tmp.resolve("two.tsv");
    Path audio = Files.copy(Fixtures.conformerTiny().resolve("audio.wav"), tmp.resolve("audio.wav"));
    Path audio1 = Files.copy(Fixtures.conformerTiny().resolve("audio1.wav"), tmp.resolve("audio1.wav"));
    Files.writeString(manifest, audio + "\tHELLO\n" + audio1 + "\tWORLD\n");
    ModelBenchmark.Options o = new ModelBenchmark.Options("cpu", java.util.List.of(), 1, 0, 2, 0,
        dev.mha2mla.model.AttentionBackend.defaultBackend(), dev.mha2mla.model.LatentAttention.Form.EXPANDED, false);
    BenchmarkReport r = new ModelBenchmark(o, null).runOn(Fixtures.conformerTiny(), dev.mha2mla.data.Datasets.open(manifest));
    assertThat(r.dataset()).isEqualTo(dev.mha2mla.data.Datasets.open(manifest).name());
    assertThat(r.lengths()).hasSize(2);
    assertThat(r.lengths()).extracting(BenchmarkReport.Length::utterance).doesNotContainNull().doesNotHaveDuplicates();
    // 1.3 s of audio: 20800 samples, 64 encoder frames (the fixture's expected logits have 64)
    BenchmarkReport.Length first = r.lengths().get(0);
    assertThat(first.samples()).isEqualTo(20800);
    assertThat(first.frames()).isEqualTo(64);
    assertThat(first.timedPasses()).isEqualTo(2);
    assertThat(r.summary().utteranceSeconds()).containsExactly(first.audioSeconds(), r.lengths().get(1).audioSeconds());
    assertThat(r.batchSize()).isEqualTo(1);
    // --threads 0: every pass on the cores free at its start, at least one and at most the machine's
    int cores = Runtime.getRuntime().availableProcessors();
    assertThat(r.threads()).isEqualTo(cores);
    assertThat(r.adaptiveThreads()).isEqualTo(cores > 1);
    assertThat(r.lengths()).extracting(BenchmarkReport.Length::threadsUsed).allSatisfy(n -> assertThat(n).isBetween(1, cores));
    // random audio needs lengths; an empty dataset is refused
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ModelBenchmark(o, null).run(Fixtures.conformerTiny()))
        .hasMessageContaining("audio length");
  }

  @Test
  void anMlaModelCachesAQuarterOfMha() throws Exception {
    Path mla = tmp.resolve("tiny-mla");
    assertThat(Main.run("convert", "--model", Fixtures.conformerTiny().toString(), "--out", mla.toString())).isZero();
    try (dev.mha2mla.model.ConformerCtcModel model = dev.mha2mla.model.ConformerCtcModel.load(mla)) {
      BenchmarkReport.Cache cache = ModelBenchmark.cache(model);
      assertThat(cache.bytesPerFramePerLayer()).isEqualTo(32 * 4);
      assertThat(cache.mhaBytesPerFramePerLayer()).isEqualTo(2 * 64 * 4);
      assertThat(cache.reductionVsMha()).isEqualTo(4.0);
      assertThat(cache.bytesPerFrame()).isEqualTo(2 * 32 * 4);
      // 1 GiB at 1500 frames: 2 layers x 128 B = 256 B per frame for MLA, 2 x 512 B for MHA
      assertThat(cache.streamsWithinBudget()).isEqualTo((1L << 30) / (256L * 1500));
      assertThat(cache.mhaStreamsWithinBudget()).isEqualTo((1L << 30) / (1024L * 1500));
    }
    assertThat(Files.exists(mla.resolve("config.json"))).isTrue();
  }
}
