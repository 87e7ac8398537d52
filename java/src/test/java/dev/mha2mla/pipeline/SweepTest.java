package dev.mha2mla.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.Json;
import dev.mha2mla.train.IncompatibleOptionsException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sweep on the tiny fixture model (d = 64, 2 layers) and its two recordings: every arm, the report, a rerun. */
class SweepTest {
  private static Path data(Path dir) throws IOException {
    Files.createDirectories(dir);
    for (String f : new String[] {"audio.wav", "audio1.wav"}) Files.copy(Fixtures.conformerTiny().resolve(f), dir.resolve(f));
    Files.writeString(dir.resolve("data.tsv"), "audio.wav\tHELLO WORLD\naudio1.wav\tHI THERE\n");
    return dir.resolve("data.tsv");
  }

  private static Sweep.Options options(Path data, Path results, List<Double> budgets, long steps) {
    return new Sweep.Options(Fixtures.conformerTiny(), data, data, data, results, budgets,
        List.of(Sweep.Method.UNIFORM_PLAIN, Sweep.Method.BUDGET_WHITENED), 0, 0, steps, 2, 1e-4, 1, "cpu");
  }

  @Test
  void everyArmIsConvertedScoredFineTunedAndReported(@TempDir Path dir) throws IOException {
    Path data = data(dir.resolve("data"));
    Path results = dir.resolve("sweep");
    List<String> log = new ArrayList<>();
    String report = new Sweep(options(data, results, List.of(0.1, 0.05), 2), log::add).run();

    JsonNode rows = Json.MAPPER.readTree(results.resolve("sweep.json").toFile());
    assertThat(rows).hasSize(4);
    // MHA caches 2 * 64 floats per layer, 256 over both layers. Uniform: r = round(F * 128) per layer;
    // budgeted: floor(F * 256) over the layers, split as the spectra say
    double[] floats = {2 * 13, 2 * 6, 25, 12};
    String[] methods = {"uniform-plain", "uniform-plain", "budget-whitened", "budget-whitened"};
    for (int i = 0; i < 4; i++) {
      assertThat(rows.get(i).path("method").asText()).isEqualTo(methods[i]);
      assertThat(rows.get(i).path("cache_floats_per_frame").asDouble()).isEqualTo(floats[i]);
      assertThat(rows.get(i).path("wer_before_low").asDouble()).isLessThanOrEqualTo(rows.get(i).path("wer_before").asDouble());
      assertThat(rows.get(i).path("after_vs_control").asText()).containsPattern("^[+-]\\d+\\.\\d\\d \\[[+-]\\d+\\.\\d\\d, [+-]\\d+\\.\\d\\d\\], (no )?significant");
    }
    assertThat(rows.get(2).path("latent_dims")).hasSize(2);
    for (String f : new String[] {"mha_wer.json", "control/after_wer.json", "points/budget-whitened-0.05/model/conversion.json",
        "points/budget-whitened-0.05/finetuned/training.json", "points/uniform-plain-0.1/after_wer.json",
        Sweep.REPORT, "sweep_wer_vs_cache.png"}) {
      assertThat(results.resolve(f)).as(f).exists();
    }
    assertThat(report).contains("| uniform-plain | 0.1 (10.0x) | 13 | 26 |").contains("Control (MHA fine-tuned");

    // a rerun with the same options does nothing again; with other options it is refused before writing anything
    log.clear();
    new Sweep(options(data, results, List.of(0.1, 0.05), 2), log::add).run();
    assertThat(log.stream().filter(l -> l.endsWith(" ...")).toList()).isEmpty();
    assertThatThrownBy(() -> new Sweep(options(data, results, List.of(0.1), 3), line -> {}).run())
        .isInstanceOf(IncompatibleOptionsException.class).hasMessageContaining("steps: 2 there, 3 now")
        .hasMessageContaining("cache_budgets");
  }

  @Test
  void badOptionsAreRefused(@TempDir Path dir) throws IOException {
    Path data = data(dir.resolve("data"));
    assertThatThrownBy(() -> options(data, dir.resolve("a"), List.of(0.6), 2)).hasMessageContaining("not a share in (0, 0.5]");
    assertThatThrownBy(() -> options(data, dir.resolve("a"), List.of(), 2)).hasMessageContaining("at least one share");
    assertThatThrownBy(() -> Sweep.Method.parse("svd")).hasMessageContaining("unknown method 'svd'");
    // 0.001 * 2 * 64 < 1 float per layer
    assertThatThrownBy(() -> new Sweep(options(data, dir.resolve("b"), List.of(0.001), 2), l -> {}).run())
        .hasMessageContaining("less than one latent float per layer");
    assertThat(dir.resolve("b")).doesNotExist();
  }
}
