package dev.mha2mla.stream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.cli.Main;
import dev.mha2mla.io.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Streaming options that make no sense: exit code 2 (usage) with a message naming the option, and nothing written. */
class StreamingUsageErrorsTest {
  @TempDir Path dir;

  private record Run(int code, String err) {}

  private static Run run(String... args) {
    PrintStream saved = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      return new Run(Main.run(args), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(saved);
    }
  }

  private Path manifest() throws Exception {
    Path tsv = dir.resolve("data.tsv");
    Files.copy(Fixtures.conformerTiny().resolve("audio.wav"), dir.resolve("audio.wav"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(tsv, "audio.wav\tHELLO\n");
    return tsv;
  }

  private Run finetune(String... extra) throws Exception {
    String[] base = {"finetune", "--model", Fixtures.conformerTiny().toString(), "--train", manifest().toString(), "--valid",
        manifest().toString(), "--out", dir.resolve("out").toString(), "--max-steps", "1"};
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return run(all);
  }

  @Test
  void badStreamingFineTuneOptions() throws Exception {
    for (String[] bad : new String[][] {{"--streaming", "--chunks", "0,4"}, {"--streaming", "--chunks", "4,four"},
        {"--streaming", "--left-context", "-1"}, {"--chunks", "4"}, {"--left-context", "8"}}) {
      Run r = finetune(bad);
      assertThat(r.code()).as(String.join(" ", bad)).isEqualTo(2);
      assertThat(r.err()).as(String.join(" ", bad)).containsAnyOf("--chunks", "--left-context");
      assertThat(dir.resolve("out")).as(String.join(" ", bad)).doesNotExist();
    }
  }

  @Test
  void aModelThatCannotStreamIsAUsageError() throws Exception {
    Path group = dir.resolve("group");
    Files.createDirectories(group);
    for (String f : new String[] {"model.safetensors", "vocab.json", "preprocessor_config.json"}) {
      Files.copy(Fixtures.conformerTiny().resolve(f), group.resolve(f));
    }
    String config = Files.readString(Fixtures.conformerTiny().resolve("config.json"));
    Files.writeString(group.resolve("config.json"), config.replaceAll("\"feat_extract_norm\"\\s*:\\s*\"layer\"",
        "\"feat_extract_norm\": \"group\""));
    Run r = run("finetune", "--model", group.toString(), "--train", manifest().toString(), "--valid", manifest().toString(),
        "--out", dir.resolve("out").toString(), "--streaming");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("feat_extract_norm \"group\"");
    assertThat(dir.resolve("out")).doesNotExist();
  }

  @Test
  void badStreamingEvaluationAndStreamOptions() throws Exception {
    String model = Fixtures.conformerTiny().toString();
    String audio = Fixtures.conformerTiny().resolve("audio.wav").toString();
    Path out = dir.resolve("eval.json");
    for (String[] args : new String[][] {
        {"evaluate", "--model", model, "--data", manifest().toString(), "--out", out.toString(), "--stream-chunk", "0"},
        {"evaluate", "--model", model, "--data", manifest().toString(), "--out", out.toString(), "--stream-chunk", "4",
            "--left-context", "-3"},
        {"stream", "--model", model, "--chunk", "0", audio},
        {"stream", "--model", model, "--left-context", "-1", audio},
        {"stream", "--model", model, "--stream-normalization", "0.1", audio},
        {"stream", "--model", model, "--stream-normalization", "0,-1", audio},
        {"pipeline", "quick", "--model", model, "--results", dir.resolve("r").toString(), "--stream-chunks", "0,4"},
        {"pipeline", "quick", "--model", model, "--results", dir.resolve("r").toString(), "--left-context", "-1"}}) {
      Run r = run(args);
      assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
      assertThat(r.err()).as(String.join(" ", args)).containsAnyOf("chunk", "left context", "left-context", "normalization");
    }
    assertThat(out).doesNotExist();
    assertThat(dir.resolve("r")).doesNotExist();
  }

  @Test
  void streamingAModelWithoutFixedStatisticsSaysHowToGiveThem() {
    String model = Fixtures.conformerTiny().toString();
    Run r = run("stream", "--model", model, Fixtures.conformerTiny().resolve("audio.wav").toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains(model, "do_normalize", "--stream-normalization");
    Run given = run("stream", "--model", model, "--stream-normalization", "0,0.1",
        Fixtures.conformerTiny().resolve("audio.wav").toString());
    assertThat(given.code()).isZero();
  }
}
