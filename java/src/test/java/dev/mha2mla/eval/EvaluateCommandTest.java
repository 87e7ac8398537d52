package dev.mha2mla.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.cli.Main;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mha2mla evaluate} end to end on the conformer-tiny fixture, whose random weights transcribe both WAVs as "R". */
class EvaluateCommandTest {
  @TempDir Path dir;

  private Path manifest(String transcript) throws Exception {
    Path fixture = Fixtures.conformerTiny();
    Files.copy(fixture.resolve("audio.wav"), dir.resolve("audio.wav"));
    Files.copy(fixture.resolve("audio1.wav"), dir.resolve("audio1.wav"));
    Path tsv = dir.resolve("fixture.tsv");
    Files.writeString(tsv, "audio.wav\t" + transcript + "\naudio1.wav\t" + transcript + "\n");
    return tsv;
  }

  @Test
  void fixtureModelScoresZeroWerOnWhatItSays() throws Exception {
    Path tsv = manifest("R");
    Path out = dir.resolve("reports/eval.json");

    int code = Main.run("evaluate", "--model", Fixtures.conformerTiny().toString(), "--data", tsv.toString(),
        "--batch-size", "2", "--out", out.toString());

    assertThat(code).isZero();
    EvaluationReport r = Json.read(out, EvaluationReport.class);
    assertThat(r.wer()).isZero();
    assertThat(r.cer()).isZero();
    assertThat(r.utteranceCount()).isEqualTo(2);
    assertThat(r.words()).isEqualTo(new EditCounts(0, 0, 0, 2));
    assertThat(r.audioSeconds()).isEqualTo(2.2);
    assertThat(r.realTimeFactor()).isPositive();
    assertThat(r.worst()).isEmpty();
    assertThat(r.utterances()).extracting(UtteranceScore::id).containsExactly("audio.wav", "audio1.wav");
  }

  @Test
  void wrongTranscriptsCountAsSubstitutions() throws Exception {
    Path tsv = manifest("RED");
    Path out = dir.resolve("eval.json");

    int code = Main.run("evaluate", "--model", Fixtures.conformerTiny().toString(), "--data", tsv.toString(),
        "--limit", "1", "--seed", "3", "--out", out.toString());

    assertThat(code).isZero();
    EvaluationReport r = Json.read(out, EvaluationReport.class);
    assertThat(r.utteranceCount()).isEqualTo(1);
    assertThat(r.words()).isEqualTo(new EditCounts(1, 0, 0, 1));
    assertThat(r.characters()).isEqualTo(new EditCounts(0, 2, 0, 3));
    assertThat(r.worst()).hasSize(1);
  }

  @Test
  void badDataFailsWithExitCodeOneAndNoReport() throws Exception {
    Path tsv = manifest("ROOM 101");
    Path out = dir.resolve("eval.json");

    int code = Main.run("evaluate", "--model", Fixtures.conformerTiny().toString(), "--data", tsv.toString(),
        "--out", out.toString());

    assertThat(code).isEqualTo(1);
    assertThat(out).doesNotExist();
  }
}
