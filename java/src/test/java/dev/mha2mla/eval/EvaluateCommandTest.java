package dev.mha2mla.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.cli.CliRun;
import dev.mha2mla.cli.Main;
import dev.mha2mla.data.TrainingWords;
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

  private Path fixtureModelCopy() throws Exception {
    Path model = dir.resolve("model");
    Files.createDirectories(model);
    try (var files = Files.list(Fixtures.conformerTiny())) {
      for (Path f : files.filter(Files::isRegularFile).toList()) Files.copy(f, model.resolve(f.getFileName()));
    }
    return model;
  }

  /** A model folder that records its training words: test words outside them are counted and warned about. */
  @Test
  void wordsOutsideTheTrainingWordsAreCountedAndWarned() throws Exception {
    Path model = fixtureModelCopy();
    Files.writeString(model.resolve(TrainingWords.FILE), "{\"words\": [\"R\", \"RED\"]}");
    Path tsv = manifest("R S T S");
    Path out = dir.resolve("eval.json");

    CliRun run = CliRun.of("evaluate", "--model", model.toString(), "--data", tsv.toString(), "--out", out.toString());

    assertThat(run.code()).isZero();
    OutOfVocabulary o = Json.read(out, EvaluationReport.class).outOfVocabulary();
    // 2 utterances x "R S T S": 8 words, of which S (4) and T (2) were never trained on
    assertThat(o.referenceWords()).isEqualTo(8);
    assertThat(o.outside()).isEqualTo(6);
    assertThat(o.rate()).isEqualTo(0.75);
    assertThat(o.distinct()).isEqualTo(2);
    assertThat(o.examples()).containsExactly("S", "T");
    assertThat(run.stderr()).contains("6 of 8 reference words (75.00%", "training_words.json");
  }

  @Test
  void aCorruptTrainingWordsFileFailsNamingIt() throws Exception {
    Path model = fixtureModelCopy();
    Files.writeString(model.resolve(TrainingWords.FILE), "{\"words\": [\"r\"]}");
    Path out = dir.resolve("eval.json");

    CliRun run = CliRun.of("evaluate", "--model", model.toString(), "--data", manifest("R").toString(), "--out",
        out.toString());

    assertThat(run.code()).isEqualTo(1);
    assertThat(run.stderr()).contains(TrainingWords.FILE, "\"r\" is not a normalised word");
    assertThat(out).doesNotExist();
  }

  @Test
  void aModelWithoutTrainingWordsClaimsNothing() throws Exception {
    Path out = dir.resolve("eval.json");
    int code = Main.run("evaluate", "--model", Fixtures.conformerTiny().toString(), "--data", manifest("S").toString(),
        "--out", out.toString());
    assertThat(code).isZero();
    assertThat(Json.read(out, EvaluationReport.class).outOfVocabulary()).isNull();
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
