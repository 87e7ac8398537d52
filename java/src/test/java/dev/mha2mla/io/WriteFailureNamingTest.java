package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Failed writes name the file the caller asked for, not nothing and not the hidden temporary sibling. */
class WriteFailureNamingTest {
  @TempDir Path dir;

  @Test
  void aWriteErrorWithoutAFileNameIsRestatedForTheTarget() throws Exception {
    Path target = dir.resolve("report.json");
    // what FileChannel.write throws on a full disk: a bare IOException
    assertThatThrownBy(() -> AtomicFiles.write(target, out -> {
      out.write(1);
      throw new IOException("No space left on device");
    })).isInstanceOf(IOException.class)
        .hasMessage(target + ": could not write the file: No space left on device");
    try (var left = Files.list(dir)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void evaluateWithAnOutFileInsideAFileSaysWhatIsWrong() throws Exception {
    Files.copy(Fixtures.conformerTiny().resolve("audio.wav"), dir.resolve("audio.wav"));
    Path tsv = Files.writeString(dir.resolve("set.tsv"), "audio.wav\tR\n");
    Path blocker = Files.writeString(dir.resolve("blocker"), "a file");
    Path out = blocker.resolve("eval.json");
    PrintStream saved = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = Main.run("evaluate", "--model", Fixtures.conformerTiny().toString(), "--data", tsv.toString(), "--out",
          out.toString());
    } finally {
      System.setErr(saved);
    }
    assertThat(code).isEqualTo(1);
    String lastLine = err.toString(StandardCharsets.UTF_8).strip().lines().reduce((a, b) -> b).orElse("");
    assertThat(lastLine).startsWith("mha2mla evaluate: error: " + blocker).contains(":", "exists")
        .doesNotContain("\tat ");
  }
}
