package dev.mha2mla;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.io.Fixtures;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
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

  /** javac's error messages for the sources against the test classpath; empty when they compile. */
  static String compile(List<Path> sources, Path classes) throws IOException {
    Files.createDirectories(classes);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    StringWriter output = new StringWriter();
    try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
      List<String> options = List.of("-classpath", System.getProperty("java.class.path"), "-d", classes.toString(),
          "-proc:none");
      boolean ok = javac.getTask(output, files, diagnostics, options, null, files.getJavaFileObjectsFromPaths(sources)).call();
      StringBuilder errors = new StringBuilder(output.toString());
      diagnostics.getDiagnostics().stream().filter(d -> d.getKind() == javax.tools.Diagnostic.Kind.ERROR)
          .forEach(d -> errors.append(d.getSource() == null ? "" : d.getSource().getName()).append(':')
              .append(d.getLineNumber()).append(": ").append(d.getMessage(null)).append('\n'));
      return ok ? "" : errors.toString();
    }
  }
}
