package dev.mha2mla;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.io.Fixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every ```java block of README.md is a whole source file that compiles against the library as it is: the
 * examples a user copies cannot drift from the API. (They are compiled, not run: they need a corpus and minutes.)
 */
class ReadmeSnippetsTest {
  private static final Pattern BLOCK = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL);
  private static final Pattern CLASS = Pattern.compile("public (?:final )?class (\\w+)");

  @Test
  void everyJavaBlockCompiles(@TempDir Path dir) throws IOException {
    String readme = Files.readString(Fixtures.repoRoot().resolve("README.md"), StandardCharsets.UTF_8);
    List<String> blocks = blocks(readme);
    assertThat(blocks).as("README's Java examples").hasSizeGreaterThanOrEqualTo(2);
    List<Path> sources = new ArrayList<>();
    for (String block : blocks) {
      Matcher m = CLASS.matcher(block);
      assertThat(m.find()).as("a README block declares a public class:\n%s", block).isTrue();
      Path file = dir.resolve(m.group(1) + ".java");
      Files.writeString(file, block, StandardCharsets.UTF_8);
      sources.add(file);
    }
    assertThat(compile(sources, dir.resolve("classes"))).isEmpty();
  }

  @Test
  void aBrokenBlockIsReported(@TempDir Path dir) throws IOException {
    String readme = "text\n```java\npublic class Broken { void f() { dev.mha2mla.SpeechRecognizer.nothing(); } }\n```\n";
    Path file = dir.resolve("Broken.java");
    Files.writeString(file, blocks(readme).get(0));
    assertThat(compile(List.of(file), dir.resolve("classes"))).contains("nothing");
  }

  static List<String> blocks(String markdown) {
    List<String> out = new ArrayList<>();
    Matcher m = BLOCK.matcher(markdown);
    while (m.find()) out.add(m.group(1));
    return out;
  }

  /**
   * javac's error messages for the sources against the test classpath; empty when they compile. javac runs in a
   * process of its own: compiling in this JVM would leave its JIT and allocator busy while later tests measure
   * native memory.
   */
  static String compile(List<Path> sources, Path classes) throws IOException {
    Files.createDirectories(classes);
    Path javac = Path.of(System.getProperty("java.home"), "bin", "javac");
    List<String> command = new ArrayList<>(List.of(javac.toString(), "-proc:none", "-d", classes.toString(),
        "-classpath", System.getProperty("java.class.path")));
    for (Path source : sources) command.add(source.toString());
    Path log = classes.resolveSibling("javac.log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      int code = p.waitFor();
      return code == 0 ? "" : Files.readString(log, StandardCharsets.UTF_8) + "(javac exit " + code + ")";
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while compiling the README's examples", e);
    }
  }
}
