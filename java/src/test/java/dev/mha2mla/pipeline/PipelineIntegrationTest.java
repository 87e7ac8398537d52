package dev.mha2mla.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole pipeline on the tiny fixture model and a tiny synthetic corpus, including a kill -9 during fine-tuning. */
class PipelineIntegrationTest {
  private static final Path MODEL = Fixtures.conformerTiny();

  private static List<String> args(Path results) {
    return List.of("pipeline", "quick", "--model", MODEL.toString(), "--results", results.toString(), "--synth-count", "30",
        "--train-utterances", "16", "--eval-utterances", "4", "--benchmark-utterances", "2", "--max-steps", "8",
        "--eval-every", "2", "--batch-size", "4", "--seed", "3", "--streaming", "--stream-chunks", "1,16", "--left-context", "32");
  }

  private static PipelineOptions options(Path results) {
    return PipelineOptions.builder(PipelinePreset.QUICK, MODEL, results).seed(3).synthCount(30).trainLimit(16).evalLimit(4)
        .benchmarkLimit(2).maxSteps(8).batchSize(4).evalEvery(2).streaming(true).streamChunks(List.of(1, 16)).leftContext(32)
        .build();
  }

  private static Pipeline pipeline(Path results) {
    return new Pipeline(options(results), Pipeline.ModelBenchmark.onUtterances(0, 1), line -> {});
  }

  private static boolean speechToolsPresent() {
    for (String tool : new String[] {"espeak-ng", "sox"}) {
      try {
        Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (IOException | InterruptedException e) {
        return false;
      }
    }
    return true;
  }

  @Test
  void runsEndToEndAndSurvivesAKillDuringFineTuning(@TempDir Path dir) throws Exception {
    assumeTrue(speechToolsPresent(), "espeak-ng and sox make the test corpus: apt-get install -y espeak-ng sox");
    Path straight = dir.resolve("straight");
    pipeline(straight).run();
    for (String name : Pipeline.expectedFiles(List.of(1, 16))) {
      Path f = straight.resolve(name);
      assertThat(f).as(name).isRegularFile();
      if (name.endsWith(".json")) assertThat(Json.read(f, Map.class)).as(name).isNotEmpty();
      if (name.endsWith(".png")) assertThat(Files.readAllBytes(f)).startsWith(0x89, 'P', 'N', 'G');
    }
    assertThat(straight.resolve(Pipeline.FINETUNED).resolve("model.safetensors")).isRegularFile();
    assertThat(straight.resolve(Pipeline.FINETUNED).resolve("training").resolve("trainer_state.json")).isRegularFile();
    // the fine-tune step reports as it goes, not only when it ends
    assertThat(Files.readString(straight.resolve("pipeline.log"))).contains("fine-tuning: updates 1 to ")
        .containsPattern("update \\d+/\\d+: validation loss \\d");
    String report = Files.readString(straight.resolve(ComparisonReport.TEXT));
    // the quick preset's cache budget, 1/32 of the MHA cache: floor(0.03125 * 2 * 64 * 2) = 8 floats over both layers
    assertThat(Json.read(straight.resolve("conversion.json"), Map.class).get("latent_dims")).asList()
        .satisfies(dims -> assertThat(dims.stream().mapToInt(d -> (Integer) d).sum()).isEqualTo(8));
    assertThat(report).contains("MHA baseline", "MLA converted", "MLA fine-tuned", "SYNTHETIC",
        "energy kept (share of the K/V weights' squared singular values)");
    assertThat(report).as("the calibration audio measures every layer's output error").doesNotContain("| not measured |");
    assertThat(straight.resolve("finetune").resolve("best")).as("the best model is stored once").doesNotExist();
    // streamed at each chunk size over the cache each model exists for, with the fine-tune's chunk-aware recipe
    assertThat(report).contains("## Streaming: WER against chunk latency", "20 ms (C = 1)", "320 ms (C = 16)",
        "| MHA baseline | K/V, 128 floats / frame / layer", "| MLA fine-tuned | latent, 4 floats / frame / layer",
        "Chunk-aware (streaming)", "Scope encoder");
    // every WER with its bootstrap interval, every model against the baseline paired on the same utterances
    assertThat(report).contains("WER [95% CI]", "WER vs MHA (paired)", "reference words: one word is",
        "Cost and recovery: the conversion changed WER by", "(fine-tuned vs converted, paired)",
        "| MLA fine-tuned streamed vs MHA whole utterance (paired) |");
    assertThat(report).containsPattern("\\| MLA converted \\| \\d+\\.\\d\\d% \\[\\d+\\.\\d\\d, \\d+\\.\\d\\d\\] \\| [+-]\\d");
    assertThat(Json.read(straight.resolve(Pipeline.streamedFile("mla_finetuned", 1)), Map.class).get("decoding"))
        .asString().endsWith("latent cache");
    assertThat(Json.read(straight.resolve(Pipeline.streamedFile("mha_baseline", 16)), Map.class).get("decoding"))
        .asString().endsWith("key_value cache");

    // a second run that reuses steps 0-3, is killed (SIGKILL) once fine-tuning has a checkpoint, then rerun
    Path killed = dir.resolve("killed");
    copyFirstSteps(straight, killed);
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.mha2mla.cli.Main"));
    command.addAll(args(killed));
    Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
    Path checkpoint = killed.resolve("finetune").resolve("checkpoint");
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
    while (!Files.isDirectory(checkpoint) && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
    assertThat(Files.isDirectory(checkpoint)).as("fine-tuning wrote a checkpoint before the kill").isTrue();
    child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    assertThat(killed.resolve("mla_finetuned_metadata.json")).as("killed before fine-tuning finished").doesNotExist();

    pipeline(killed).run();
    assertThat(Files.readAllBytes(killed.resolve(Pipeline.FINETUNED).resolve("model.safetensors")))
        .as("resumed fine-tuning ends with the same weights").isEqualTo(
            Files.readAllBytes(straight.resolve(Pipeline.FINETUNED).resolve("model.safetensors")));
    for (String prefix : new String[] {"mha_baseline", "mla_converted", "mla_finetuned"}) {
      Map<?, ?> a = Json.read(straight.resolve(prefix + "_wer.json"), Map.class);
      Map<?, ?> b = Json.read(killed.resolve(prefix + "_wer.json"), Map.class);
      assertThat(b.get("wer")).as(prefix).isEqualTo(a.get("wer"));
      assertThat(b.get("cer")).as(prefix).isEqualTo(a.get("cer"));
    }
  }

  /** Copies the results of steps 0-3 (corpus, subsets, conversion, both first evaluations). */
  private static void copyFirstSteps(Path from, Path to) throws IOException {
    List<String> keep = List.of(Pipeline.OPTIONS_FILE, "corpus", "data", Pipeline.CONVERTED, "conversion.json", "mla_config.json",
        "mha_baseline_wer.json", "mha_baseline_benchmark.json", "mla_converted_wer.json", "mla_converted_benchmark.json");
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.toList()) {
        Path rel = from.relativize(p);
        if (rel.toString().isEmpty() || !keep.contains(rel.getName(0).toString())) continue;
        Path target = to.resolve(rel.toString());
        if (Files.isDirectory(p)) Files.createDirectories(target);
        else {
          Files.createDirectories(target.getParent());
          Files.copy(p, target);
        }
      }
    }
  }
}
