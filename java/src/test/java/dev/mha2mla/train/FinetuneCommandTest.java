package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.cli.Main;
import dev.mha2mla.io.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mha2mla finetune} end to end on the fixture, and its one-line error for bad data. */
class FinetuneCommandTest {
  private static String[] captureErr(Runnable body) {
    PrintStream saved = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      body.run();
    } finally {
      System.setErr(saved);
    }
    return new String[] {err.toString(StandardCharsets.UTF_8)};
  }

  @Test
  void finetunesAndReportsABadUtteranceByName(@TempDir Path dir) throws IOException {
    Path tiny = Fixtures.conformerTiny();
    Path data = TrainingFixtures.manifest(dir, "one.tsv", tiny.resolve("audio1.wav") + "\tHI THERE");
    int[] code = new int[1];
    captureErr(() -> code[0] = Main.run("finetune", "--model", tiny.toString(), "--train", data.toString(), "--valid",
        data.toString(), "--out", dir.resolve("run").toString(), "--max-steps", "2", "--eval-every", "2", "--batch-size", "1"));
    assertThat(code[0]).isZero();
    assertThat(dir.resolve("run/best/model.safetensors")).exists();

    TrainingFixtures.writeTones(dir.resolve("short.wav"), 3200, 440, 1);
    Path bad = TrainingFixtures.manifest(dir, "bad.tsv", "short.wav\tFAR TOO MANY WORDS FOR SO SHORT A CLIP");
    String[] err = captureErr(() -> code[0] = Main.run("finetune", "--model", tiny.toString(), "--train", bad.toString(),
        "--valid", data.toString(), "--out", dir.resolve("bad-run").toString()));
    assertThat(code[0]).isEqualTo(1);
    assertThat(err[0]).contains("mha2mla finetune: error: --train ").contains("short.wav: 3200 samples give 9 frames")
        .doesNotContain("Exception");
  }
}
