package dev.mha2mla.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mha2mla.cli.Main;
import dev.mha2mla.data.synth.SpeechTools;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mha2mla synth} with the real espeak-ng and sox; skipped where they are not installed. */
class SyntheticCorpusTest {
  @TempDir Path dir;

  @BeforeAll
  static void needsSpeechTools() {
    assumeTrue(SpeechTools.available(), "espeak-ng and sox are not installed (" + SpeechTools.INSTALL + ")");
  }

  @Test
  void sameSeedGivesTheSameBytesAndTheTreeReadsAsLibriSpeech() throws Exception {
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    assertThat(Main.run("synth", "--out", a.toString(), "--count", "6", "--seed", "11", "--jobs", "2")).isZero();
    assertThat(Main.run("synth", "--out", b.toString(), "--count", "6", "--seed", "11", "--jobs", "1")).isZero();

    Map<String, String> sumsA = checksums(a);
    assertThat(sumsA.keySet()).filteredOn(p -> p.endsWith(".flac")).hasSize(6);
    assertThat(sumsA).isEqualTo(checksums(b));

    Dataset train = Datasets.open(a.resolve("train"));
    Dataset test = Datasets.open(a.resolve("test"));
    assertThat(train.size()).isEqualTo(4);
    assertThat(test.size()).isEqualTo(1);
    assertThat(Datasets.open(a.resolve("validation")).size()).isEqualTo(1);
    for (Utterance u : test.utterances()) {
      float[] samples = u.readSamples(16_000);
      assertThat(samples.length).isGreaterThan(16_000);
      assertThat(u.transcript()).matches("[A-Z' ]+");
    }
    var corpus = Json.MAPPER.readTree(a.resolve("corpus.json").toFile());
    assertThat(corpus.get("note").asText()).startsWith("SYNTHETIC, ROBOTIC SPEECH");
    assertThat(corpus.get("seed").asLong()).isEqualTo(11);
    assertThat(corpus.get("splits").get("train").get("utterances").asInt()).isEqualTo(4);
    assertThat(corpus.get("espeak_ng_version").asText()).contains("1.");
  }

  @Test
  void evaluateReadsTheSyntheticTestSplit() throws Exception {
    Path corpus = dir.resolve("corpus");
    assertThat(Main.run("synth", "--out", corpus.toString(), "--count", "6", "--seed", "3")).isZero();
    Path out = dir.resolve("eval.json");

    int code = Main.run("evaluate", "--model", Fixtures.conformerTiny().toString(), "--data",
        corpus.resolve("test").toString(), "--out", out.toString());

    assertThat(code).isZero();
    var report = Json.MAPPER.readTree(out.toFile());
    assertThat(report.get("utterance_count").asInt()).isEqualTo(1);
    // the fixture's weights are random: it says "R" to everything, so every reference word is an error
    assertThat(report.get("wer").asDouble()).isGreaterThanOrEqualTo(0.75);
  }

  @Test
  void anExistingFolderIsKeptUnlessOverwriteIsGiven() throws Exception {
    Path corpus = Files.createDirectories(dir.resolve("corpus"));
    Files.writeString(corpus.resolve("keep.txt"), "mine");

    assertThat(Main.run("synth", "--out", corpus.toString(), "--count", "2", "--seed", "1")).isEqualTo(1);
    assertThat(corpus.resolve("keep.txt")).hasContent("mine");

    assertThat(Main.run("synth", "--out", corpus.toString(), "--count", "2", "--seed", "1", "--overwrite")).isZero();
    assertThat(corpus.resolve("keep.txt")).doesNotExist();
    assertThat(corpus.resolve("corpus.json")).exists();
  }

  private static Map<String, String> checksums(Path root) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        // corpus.json records when and by which command line the corpus was made
        if (p.getFileName().toString().equals("corpus.json")) continue;
        try {
          out.put(root.relativize(p).toString(),
              HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
        } catch (java.security.NoSuchAlgorithmException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return out;
  }
}
