package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.cli.Main;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.ModelFolderWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code mha2mla convert} killed with SIGKILL ({@code destroyForcibly}) at any moment leaves the output folder
 * either absent or complete (loadable, and byte-identical to an uninterrupted conversion), never half
 * written; a rerun then succeeds, leaves no temporary folders behind, and writes the same bytes. Kill points
 * run from JVM start-up to the moments the temporary folder is being filled and renamed into place, for a
 * fresh output folder and for one replacing an older model with {@code --overwrite}.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class InterruptedConversionTest {
  private static final Path FIXTURE = Fixtures.conformerTiny();
  private static final String LATENT = "16";

  @TempDir static Path shared;
  private static byte[] reference;
  private static byte[] older;

  @TempDir Path dir;

  @BeforeAll
  static void convertWithoutInterruption() throws IOException {
    assertThat(convert(shared.resolve("reference"), LATENT, false)).isZero();
    reference = Files.readAllBytes(shared.resolve("reference").resolve("model.safetensors"));
    assertThat(convert(shared.resolve("older"), "8", false)).isZero();
    older = Files.readAllBytes(shared.resolve("older").resolve("model.safetensors"));
  }

  /**
   * @param when "N" kills N ms after the child starts (JVM start-up); "tmp+N" kills N ms after the temporary
   *     folder appears (writing config.json, the weights, the copied files, publishing); "out+0" as soon as the
   *     output folder appears (published, the old one perhaps not yet deleted)
   */
  @ParameterizedTest(name = "killed at {0}")
  @ValueSource(strings = {"0", "50", "150", "300", "tmp+0", "tmp+60", "tmp+150", "tmp+300", "out+0"})
  void killedConversionLeavesNothingOrAWholeModel(String when) throws Exception {
    Path out = dir.resolve("out");
    String seen = killChildConversion(out, when, false);

    if (Files.exists(out)) assertWholeModel(out, reference);
    System.out.printf("convert killed at %s: %s; out %s%n", when, seen, Files.exists(out) ? "complete" : "absent");
    rerunAndCheck(out);
  }

  @ParameterizedTest(name = "killed at {0}")
  @ValueSource(strings = {"tmp+0", "tmp+150", "tmp+300"})
  void killedOverwriteLeavesTheOldModelOrTheNewOne(String when) throws Exception {
    Path out = dir.resolve("out");
    copyFolder(shared.resolve("older"), out);
    String seen = killChildConversion(out, when, true);

    // Between its two renames the publisher has moved the old folder aside and not yet moved the new one in:
    // out is absent for that instant, and the old model waits in a ".out.<hex>.old" sibling (which the rerun
    // deletes, as it was going to replace that model anyway).
    if (Files.exists(out)) {
      boolean isNew = java.util.Arrays.equals(Files.readAllBytes(out.resolve("model.safetensors")), reference);
      assertWholeModel(out, isNew ? reference : older);
      System.out.printf("convert --overwrite killed at %s: %s; out holds the %s model%n", when, seen,
          isNew ? "new" : "old");
    } else {
      System.out.printf("convert --overwrite killed at %s: %s; out absent%n", when, seen);
    }
    rerunAndCheck(out);
  }

  @Test
  void aNewWriteDeletesWhatKilledRunsLeftButNotWhatALiveWriterIsUsing() throws Exception {
    Process finished = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-version").start();
    finished.waitFor();
    long dead = finished.pid();
    long alive = ProcessHandle.current().pid();
    Path out = dir.resolve("out");
    Path abandoned = Files.createDirectories(dir.resolve(".out.tmp-" + dead + "--1234").resolve("sub"));
    Path setAside = Files.createDirectories(dir.resolve(".out.3f2a9c.old"));
    Files.writeString(setAside.resolve("model.safetensors"), "the previous version");

    Path inProgress = Files.createDirectory(dir.resolve(".out.tmp-" + alive + "-99"));
    assertThat(convert(out, LATENT, false)).isZero();
    assertThat(abandoned.getParent()).as("a dead process's temporary folder").doesNotExist();
    assertThat(setAside).as("a folder set aside while another writer of out is running").exists();
    assertThat(inProgress).as("a running process's temporary folder").exists();

    Files.delete(inProgress);
    assertThat(convert(out, LATENT, true)).isZero();
    assertThat(leftovers(out)).isEmpty();
  }

  @Test
  void failingWriteLeavesThePreviousModelUntouched() throws IOException {
    Path out = dir.resolve("out");
    copyFolder(shared.resolve("older"), out);
    List<byte[]> before = contents(out);
    try (ConformerCtcModel model = ConformerCtcModel.load(FIXTURE)) {
      // fails after config.json and model.safetensors are written into the temporary folder
      assertThatThrownBy(() -> ModelFolderWriter.write(model, model.config(), FIXTURE, out,
          Map.of("conversion.json", new UnwritableReport()))).hasStackTraceContaining("report cannot be written");
    }
    assertThat(contents(out)).as("the previous model, byte for byte").containsExactlyElementsOf(before);
    assertThat(leftovers(out)).isEmpty();
  }

  @Test
  void outputThatIsAFileIsLeftUntouched() throws IOException {
    Path out = Files.writeString(dir.resolve("out"), "not a model folder", StandardCharsets.UTF_8);

    assertThat(convert(out, LATENT, true)).isEqualTo(1);

    assertThat(out).hasContent("not a model folder");
    assertThat(leftovers(out)).isEmpty();
  }

  @Test
  void outputWhoseParentIsAFileFailsAndWritesNothing() throws IOException {
    Path parent = Files.writeString(dir.resolve("parent"), "a file", StandardCharsets.UTF_8);

    assertThat(convert(parent.resolve("out"), LATENT, false)).isEqualTo(1);

    assertThat(parent).hasContent("a file");
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files).containsExactly(parent);
    }
  }

  @Test
  void readOnlyParentLeavesThePreviousModelUntouched() throws IOException {
    assumeTrue(!"root".equals(System.getProperty("user.name")), "root writes to read-only folders anyway");
    Path parent = Files.createDirectory(dir.resolve("parent"));
    Path out = parent.resolve("out");
    copyFolder(shared.resolve("older"), out);
    List<byte[]> before = contents(out);
    Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("r-xr-xr-x"));
    try {
      assertThat(convert(out, LATENT, true)).isEqualTo(1);
    } finally {
      Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    assertThat(contents(out)).containsExactlyElementsOf(before);
    assertThat(leftovers(out)).isEmpty();
  }

  /** Jackson calls the getter, which throws. */
  public static final class UnwritableReport {
    public String getValue() {
      throw new IllegalStateException("report cannot be written");
    }
  }

  /** Starts {@code mha2mla convert} in a child JVM and kills it at {@code when}; returns what the kill interrupted. */
  private String killChildConversion(Path out, String when, boolean overwrite) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "convert", "--model", FIXTURE.toString(),
        "--out", out.toString(), "--latent-dim", LATENT));
    if (overwrite) command.add("--overwrite");
    Path log = Files.createTempFile("convert-child", ".log");
    Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      Path tmp = null;
      if (when.startsWith("tmp+")) {
        tmp = await(out.getParent(), "." + out.getFileName() + ".tmp-", child);
        assertThat(tmp).as("the child's temporary folder (child output: %s)", Files.readString(log)).isNotNull();
      } else if (when.startsWith("out+")) {
        assertThat(await(out.getParent(), out.getFileName().toString(), child)).as("child output: %s",
            Files.readString(log)).isNotNull();
      }
      Thread.sleep(Long.parseLong(when.replaceAll("^\\D+\\+", "")));
      child.destroyForcibly();
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      String seen = when.startsWith("out+") ? "once published"
          : tmp == null ? "during start-up" : "its temporary folder held " + names(tmp);
      return seen + (child.exitValue() == 0 ? " (it had already finished)" : "");
    } finally {
      child.destroyForcibly();
      Files.deleteIfExists(log);
    }
  }

  /** The first entry of {@code folder} named {@code prefix}..., polled every millisecond while the child runs. */
  private static Path await(Path folder, String prefix, Process child) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (child.isAlive() && System.nanoTime() < deadline) {
      try (Stream<Path> files = Files.list(folder)) {
        Path tmp = files.filter(p -> p.getFileName().toString().startsWith(prefix)).findFirst().orElse(null);
        if (tmp != null) return tmp;
      }
      Thread.sleep(1);
    }
    return null;
  }

  /** The rerun (with --overwrite where out exists) succeeds, matches the reference and cleans up. */
  private static void rerunAndCheck(Path out) throws IOException {
    assertThat(convert(out, LATENT, Files.exists(out))).isZero();
    assertWholeModel(out, reference);
    assertThat(leftovers(out)).as("temporary files and folders next to %s after a successful rerun", out).isEmpty();
  }

  private static void assertWholeModel(Path out, byte[] weights) throws IOException {
    assertThat(Files.readAllBytes(out.resolve("model.safetensors"))).isEqualTo(weights);
    try (SpeechRecognizer asr = SpeechRecognizer.open(out)) {
      assertThat(asr.model().config().isMla()).isTrue();
      assertThat(asr.transcribe(Utterances.fixtureAudio())).isNotNull();
    }
  }

  /** Everything next to {@code out} (or inside it) that is neither {@code out} nor a file of a model folder. */
  private static List<String> leftovers(Path out) throws IOException {
    List<String> found = new ArrayList<>();
    try (Stream<Path> siblings = Files.list(out.getParent())) {
      siblings.filter(p -> !p.equals(out)).forEach(p -> found.add(p.getFileName().toString()));
    }
    if (Files.isDirectory(out)) {
      for (String name : names(out)) if (name.startsWith(".")) found.add(out.getFileName() + "/" + name);
    }
    return found;
  }

  private static int convert(Path out, String latent, boolean overwrite) {
    List<String> args = new ArrayList<>(List.of("convert", "--model", FIXTURE.toString(), "--out", out.toString(),
        "--latent-dim", latent));
    if (overwrite) args.add("--overwrite");
    return Main.run(args.toArray(String[]::new));
  }

  private static List<String> names(Path folder) throws IOException {
    try (Stream<Path> files = Files.list(folder)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    } catch (java.nio.file.NoSuchFileException gone) {
      return List.of("(gone: already published)");
    }
  }

  private static List<byte[]> contents(Path folder) throws IOException {
    List<byte[]> out = new ArrayList<>();
    for (String name : names(folder)) out.add(Files.readAllBytes(folder.resolve(name)));
    return out;
  }

  private static void copyFolder(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    for (String name : names(from)) Files.copy(from.resolve(name), to.resolve(name));
  }
}
