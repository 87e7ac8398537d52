package dev.mha2mla.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.cli.Main;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.train.IncompatibleOptionsException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A results folder remembers the options it was made with: a rerun under the same ones continues it, a rerun under
 * others is refused with the differences named (it would otherwise skip every finished step and print the old run's
 * report as the new one's).
 */
class ResultsFolderOptionsTest {
  private static final Path MODEL = Fixtures.conformerTiny();

  private static PipelineOptions quick(Path results, Integer latentDim) {
    return PipelineOptions.builder(PipelinePreset.QUICK, MODEL, results).latentDim(latentDim).cacheBudget(null)
        .synthCount(600).maxSteps(240).streaming(true).build();
  }

  private static ConformerConfig config() throws IOException {
    return ConformerConfig.read(MODEL.resolve("config.json"));
  }

  @Test
  void theSameOptionsContinueTheRunAndTheDefaultLatentSizeIsItsValue(@TempDir Path dir) throws IOException {
    Path results = dir.resolve("r");
    Pipeline.claim(results, quick(results, null), config());
    byte[] written = Files.readAllBytes(results.resolve(Pipeline.OPTIONS_FILE));
    Files.createDirectories(results.resolve(Pipeline.CONVERTED));

    Pipeline.claim(results, quick(results, null), config());
    Pipeline.claim(results, quick(results, config().hiddenSize() / 2), config());
    assertThat(Files.readAllBytes(results.resolve(Pipeline.OPTIONS_FILE))).isEqualTo(written);
  }

  @Test
  void otherOptionsAreRefusedNamingEachDifference(@TempDir Path dir) throws IOException {
    Path results = dir.resolve("r");
    Pipeline.claim(results, quick(results, null), config());
    byte[] written = Files.readAllBytes(results.resolve(Pipeline.OPTIONS_FILE));
    int r = config().hiddenSize() / 2;

    assertThatThrownBy(() -> Pipeline.claim(results, quick(results, r / 2), config()))
        .isInstanceOf(IncompatibleOptionsException.class)
        .hasMessageContaining("latent_dim: " + r + " there, " + (r / 2) + " now")
        .hasMessageContaining("choose another --results");
    assertThat(Files.readAllBytes(results.resolve(Pipeline.OPTIONS_FILE))).isEqualTo(written);
  }

  @Test
  void aFolderWithResultsButNoRecordIsRefused(@TempDir Path dir) throws IOException {
    Path results = Files.createDirectories(dir.resolve("r"));
    Files.writeString(results.resolve("conversion.json"), "{}");
    assertThatThrownBy(() -> Pipeline.claim(results, quick(results, null), config()))
        .isInstanceOf(IncompatibleOptionsException.class).hasMessageContaining("recorded no options");
    assertThat(results.resolve(Pipeline.OPTIONS_FILE)).doesNotExist();
  }

  @Test
  void theCommandLineExitsWithTwoAndTouchesNothing(@TempDir Path dir) throws IOException {
    Path results = dir.resolve("r");
    Pipeline.claim(results, quick(results, null), config());
    long before;
    try (var files = Files.list(results)) {
      before = files.count();
    }
    java.io.PrintStream err = System.err;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    int code;
    try {
      System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
      code = Main.run("pipeline", "quick", "--model", MODEL.toString(), "--results", results.toString(), "--latent-dim", "4");
    } finally {
      System.setErr(err);
    }
    assertThat(code).isEqualTo(2);
    assertThat(captured.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("made with other options", "latent_dim: 32 there, 4 now");
    try (var files = Files.list(results)) {
      assertThat(files.count()).isEqualTo(before);
    }
  }
}
