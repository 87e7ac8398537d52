package dev.mha2mla.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.cli.Main;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.MalformedFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Manifest lines that point outside the manifest's folder. */
class ManifestConfinementTest {
  @TempDir Path root;

  private Path manifest(String... lines) throws Exception {
    Path dir = Files.createDirectories(root.resolve("set"));
    Files.copy(Fixtures.conformerTiny().resolve("audio.wav"), dir.resolve("audio.wav"));
    return Files.writeString(dir.resolve("set.tsv"), String.join("\n", lines) + "\n");
  }

  private static String refusal(Path tsv) {
    try {
      Datasets.open(tsv);
    } catch (MalformedFileException e) {
      return e.getMessage();
    } catch (Exception e) {
      return "other exception: " + e;
    }
    return "accepted";
  }

  @Test
  void parentTraversalIsRefusedWithTheSameMessageWhetherOrNotTheFileExists() throws Exception {
    Path outside = Files.writeString(root.resolve("secret.wav"), "x");
    String existing = "../secret.wav";
    String missing = "../no-such-secret.wav";
    Path tsv = manifest("audio.wav\tR", existing + "\tR");
    String first = refusal(tsv);
    Files.writeString(tsv, "audio.wav\tR\n" + missing + "\tR\n");
    String second = refusal(tsv);

    assertThat(first).isEqualTo(tsv + ": line 2: audio path '" + existing + "' leads outside the manifest's folder "
        + tsv.getParent() + "; keep the audio below the manifest, or pass --allow-outside-paths to allow it");
    assertThat(second).isEqualTo(first.replace(existing, missing));
    assertThat(outside).exists();
  }

  @Test
  void deepTraversalAndAbsolutePathsAreRefused() throws Exception {
    for (String path : new String[] {"../../../../etc/passwd", "/etc/passwd", "sub/../../set.tsv", "."}) {
      Path tsv = manifest("audio.wav\tR", path + "\tR");
      assertThat(refusal(tsv)).as(path).startsWith(tsv + ": line 2: audio path '" + path + "' leads outside");
      Files.walk(root).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void aSymbolicLinkLeadingOutIsRefusedAndOneStayingInsideIsNot() throws Exception {
    Path tsv = manifest("audio.wav\tR", "out/secret.wav\tR");
    Path elsewhere = Files.createDirectories(root.resolve("elsewhere"));
    Files.writeString(elsewhere.resolve("secret.wav"), "x");
    Files.createSymbolicLink(tsv.getParent().resolve("out"), elsewhere);
    assertThat(refusal(tsv)).startsWith(tsv + ": line 2: audio path 'out/secret.wav' leads outside");

    Files.createSymbolicLink(tsv.getParent().resolve("in.wav"), tsv.getParent().resolve("audio.wav"));
    Files.writeString(tsv, "audio.wav\tR\nin.wav\tR\n");
    assertThat(Datasets.open(tsv).utterances()).extracting(Utterance::id).containsExactly("audio.wav", "in.wav");
  }

  @Test
  void pathsInsideTheFolderStillWork() throws Exception {
    Path tsv = manifest("audio.wav\tR", "sub/../audio.wav\tR");
    Dataset d = Datasets.open(tsv);
    assertThat(d.utterances()).extracting(Utterance::audio)
        .containsExactly(tsv.getParent().resolve("audio.wav"), tsv.getParent().resolve("audio.wav"));
  }

  @Test
  void aNulByteIsAnErrorNamingTheLine() throws Exception {
    Path tsv = manifest("audio.wav\tR", "aud\0io.wav\tR");
    assertThat(refusal(tsv)).isEqualTo(tsv + ": line 2: the audio path contains a NUL byte");
  }

  @Test
  void theFlagLetsAManifestNameAudioElsewhere() throws Exception {
    Path outside = Files.copy(Fixtures.conformerTiny().resolve("audio1.wav"), root.resolve("audio1.wav"));
    Path tsv = manifest("audio.wav\tR", outside + "\tR");
    assertThat(Datasets.open(tsv, true).utterances()).extracting(Utterance::audio).contains(outside);

    Path out = root.resolve("eval.json");
    String[] args = {"evaluate", "--model", Fixtures.conformerTiny().toString(), "--data", tsv.toString(), "--out",
        out.toString()};
    assertThat(Main.run(args)).isEqualTo(1);
    assertThat(out).doesNotExist();
    String[] allowed = java.util.Arrays.copyOf(args, args.length + 1);
    allowed[args.length] = "--allow-outside-paths";
    assertThat(Main.run(allowed)).isZero();
    assertThat(out).exists();
  }
}
