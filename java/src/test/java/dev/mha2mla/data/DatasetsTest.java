package dev.mha2mla.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.io.MalformedFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LibriSpeech trees, manifests and folders, as {@link Datasets#open} reads them. */
class DatasetsTest {
  @TempDir Path dir;

  /** Writes test-clean/SPEAKER/CHAPTER/ with one FLAC per line of a SPEAKER-CHAPTER.trans.txt. */
  private Path chapter(Path part, String speaker, String chapter, String... lines) throws IOException {
    Path folder = Files.createDirectories(part.resolve(speaker).resolve(chapter));
    StringBuilder text = new StringBuilder();
    for (String line : lines) {
      text.append(line).append('\n');
      Files.copy(AudioFixtures.get("tone.flac"), folder.resolve(line.split(" ", 2)[0] + ".flac"));
    }
    Files.writeString(folder.resolve(speaker + "-" + chapter + ".trans.txt"), text);
    return folder;
  }

  @Test
  void readsALibriSpeechTreeInPathThenLineOrder() throws Exception {
    Path part = dir.resolve("test-clean");
    chapter(part, "1089", "134686", "1089-134686-0000 HE HOPED THERE WOULD BE STEW", "1089-134686-0001 STUFF IT INTO YOU");
    chapter(part, "121", "121726", "121-121726-0000 ALSO A POPULAR CONTRIVANCE");

    Dataset d = Datasets.open(part);

    assertThat(d.name()).isEqualTo(part.toString());
    assertThat(d.hasTranscripts()).isTrue();
    assertThat(d.utterances()).extracting(Utterance::id)
        .containsExactly("1089-134686-0000", "1089-134686-0001", "121-121726-0000");
    Utterance first = d.utterances().get(0);
    assertThat(first.transcript()).isEqualTo("HE HOPED THERE WOULD BE STEW");
    assertThat(first.audio()).isEqualTo(part.resolve("1089/134686/1089-134686-0000.flac"));
    assertThat(first.readSamples(16_000)).hasSize(6_400);
  }

  @Test
  void audioWithoutATranscriptLineIsAnError() throws Exception {
    Path part = dir.resolve("test-clean");
    Path folder = chapter(part, "1089", "134686", "1089-134686-0000 HE HOPED");
    Files.copy(AudioFixtures.get("tone.flac"), folder.resolve("1089-134686-0001.flac"));

    assertThatThrownBy(() -> Datasets.open(part)).isInstanceOf(IOException.class)
        .hasMessage(folder.resolve("1089-134686-0001.flac") + ": audio file without a transcript: no line starting "
            + "'1089-134686-0001 ' in 1089-134686.trans.txt");
  }

  @Test
  void audioInAFolderWithNoTranscriptFileIsAnError() throws Exception {
    Path part = dir.resolve("test-clean");
    chapter(part, "1089", "134686", "1089-134686-0000 HE HOPED");
    Path stray = Files.createDirectories(part.resolve("121/121726")).resolve("121-121726-0000.flac");
    Files.copy(AudioFixtures.get("tone.flac"), stray);

    assertThatThrownBy(() -> Datasets.open(part)).isInstanceOf(IOException.class)
        .hasMessageStartingWith(stray + ": audio file without a transcript: its folder holds no *.trans.txt file");
  }

  @Test
  void transcriptLineWithoutAudioIsAnError() throws Exception {
    Path part = dir.resolve("test-clean");
    Path folder = chapter(part, "1089", "134686", "1089-134686-0000 HE HOPED");
    Files.writeString(folder.resolve("1089-134686.trans.txt"), "1089-134686-0000 HE HOPED\n1089-134686-0007 GONE\n");

    assertThatThrownBy(() -> Datasets.open(part)).isInstanceOf(NoSuchFileException.class)
        .hasMessageStartingWith(folder.resolve("1089-134686.trans.txt") + ":2: no audio for utterance 1089-134686-0007");
  }

  @Test
  void unknownCharactersAreReportedForEveryUtterance() throws Exception {
    Path part = dir.resolve("test-clean");
    Path folder = chapter(part, "7", "1", "7-1-0000 ROOM 101", "7-1-0001 FINE", "7-1-0002 SALT & PEPPER");

    assertThatThrownBy(() -> Datasets.open(part)).isInstanceOfSatisfying(OutOfVocabularyException.class, e -> {
      assertThat(e.offenders()).containsExactly(
          new OutOfVocabularyException.Offender(folder.resolve("7-1.trans.txt") + ":1", "7-1-0000", "01"),
          new OutOfVocabularyException.Offender(folder.resolve("7-1.trans.txt") + ":3", "7-1-0002", "&"));
      assertThat(e.getMessage()).startsWith(part + ": 2 transcripts have characters outside the model's vocabulary")
          .contains("7-1.trans.txt:1 (7-1-0000): '0' '1'").contains("FORTY TWO");
    });
  }

  @Test
  void aFolderWithSeveralPartsIsRefusedNotMerged() throws Exception {
    chapter(dir.resolve("LibriSpeech/test-clean"), "1", "2", "1-2-0000 A");
    chapter(dir.resolve("LibriSpeech/dev-clean"), "3", "4", "3-4-0000 B");

    assertThatThrownBy(() -> Datasets.open(dir.resolve("LibriSpeech"))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("holds 2 dataset parts (dev-clean, test-clean); pass one of them");
  }

  @Test
  void malformedIdIsAnError() throws Exception {
    Path part = dir.resolve("p");
    Path folder = Files.createDirectories(part.resolve("1/2"));
    Files.writeString(folder.resolve("1-2.trans.txt"), "../1-2-0000 ESCAPE\n");

    assertThatThrownBy(() -> Datasets.open(part)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(folder.resolve("1-2.trans.txt") + ": line 1:");
  }

  @Test
  void readsAManifestWithPathsRelativeToIt() throws Exception {
    Files.createDirectories(dir.resolve("audio"));
    Files.copy(AudioFixtures.get("tone.wav"), dir.resolve("audio/a.wav"));
    Files.copy(AudioFixtures.get("tone.flac"), dir.resolve("audio/b.flac"));
    Path tsv = dir.resolve("set.tsv");
    Files.writeString(tsv, "audio/a.wav\tHello, world!\n\naudio/b.flac\tit\u2019s fine\n");

    Dataset d = Datasets.open(tsv);

    assertThat(d.utterances()).containsExactly(
        new Utterance("audio/a.wav", dir.resolve("audio/a.wav"), "HELLO WORLD"),
        new Utterance("audio/b.flac", dir.resolve("audio/b.flac"), "IT'S FINE"));
    assertThat(d.utterances().get(0).readSamples(16_000)).containsExactly(d.utterances().get(1).readSamples(16_000));
  }

  @Test
  void manifestErrorsNameTheLine() throws Exception {
    Files.copy(AudioFixtures.get("tone.wav"), dir.resolve("a.wav"));
    Path noTab = dir.resolve("no-tab.tsv");
    Files.writeString(noTab, "a.wav HELLO\n");
    Path missing = dir.resolve("missing.tsv");
    Files.writeString(missing, "a.wav\tHELLO\nb.wav\tBYE\n");
    Path digits = dir.resolve("digits.tsv");
    Files.writeString(digits, "a.wav\tCHAPTER 7\n");
    Path twice = dir.resolve("twice.tsv");
    Files.writeString(twice, "a.wav\tA\na.wav\tB\n");
    Path empty = dir.resolve("empty.tsv");
    Files.writeString(empty, "\n\n");

    assertThatThrownBy(() -> Datasets.open(noTab)).isInstanceOf(MalformedFileException.class)
        .hasMessage(noTab + ": line 1: expected 'path<TAB>transcript', found no tab");
    assertThatThrownBy(() -> Datasets.open(missing)).isInstanceOf(NoSuchFileException.class)
        .hasMessage(missing + ":2: audio file b.wav does not exist");
    assertThatThrownBy(() -> Datasets.open(digits)).isInstanceOf(OutOfVocabularyException.class)
        .hasMessageContaining(digits + ":1 (a.wav): '7'");
    assertThatThrownBy(() -> Datasets.open(twice)).isInstanceOf(IOException.class)
        .hasMessage(twice + ":2: utterance a.wav is listed twice (first at " + twice + ":1)");
    assertThatThrownBy(() -> Datasets.open(empty)).isInstanceOf(MalformedFileException.class)
        .hasMessage(empty + ": the manifest lists no utterances");
  }

  @Test
  void aFolderOfAudioHasNoTranscripts() throws Exception {
    Files.copy(AudioFixtures.get("tone.wav"), dir.resolve("b.wav"));
    Files.copy(AudioFixtures.get("tone.flac"), dir.resolve("a.flac"));
    Files.writeString(dir.resolve("notes.txt"), "not audio");

    Dataset d = Datasets.open(dir);

    assertThat(d.hasTranscripts()).isFalse();
    assertThat(d.utterances()).extracting(Utterance::id).containsExactly("a.flac", "b.wav");
    assertThat(d.utterances()).extracting(Utterance::transcript).containsOnly("");
  }

  @Test
  void nothingThereIsAnError() throws Exception {
    assertThatThrownBy(() -> Datasets.open(dir)).isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("holds no *.trans.txt, *.wav or *.flac files");
    assertThatThrownBy(() -> Datasets.open(dir.resolve("absent"))).isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void seededShufflesAndLimitsAreRepeatable() throws Exception {
    Path part = dir.resolve("p");
    String[] lines = new String[20];
    for (int i = 0; i < lines.length; i++) lines[i] = String.format("5-6-%04d WORD", i);
    chapter(part, "5", "6", lines);
    Dataset d = Datasets.open(part);

    List<String> a = d.shuffled(42).limit(5).utterances().stream().map(Utterance::id).toList();
    List<String> b = Datasets.open(part).shuffled(42).limit(5).utterances().stream().map(Utterance::id).toList();
    List<String> c = d.shuffled(43).limit(5).utterances().stream().map(Utterance::id).toList();

    assertThat(a).isEqualTo(b).hasSize(5).doesNotHaveDuplicates().isNotEqualTo(c);
    assertThat(d.shuffled(42).utterances()).containsExactlyInAnyOrderElementsOf(d.utterances());
    assertThat(d.limit(3).utterances()).isEqualTo(d.utterances().subList(0, 3));
    assertThat(d.limit(100)).isSameAs(d);
    assertThat(d.shuffled(42).limit(5).name()).isEqualTo(part + " shuffled(seed 42) first 5");
  }
}
