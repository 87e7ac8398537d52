package dev.mha2mla;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.io.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library's packages form a strict stack (docs/README.md draws it): a package may use its own classes and
 * those of packages in lower layers, never a higher layer's, and the packages' use of each other has no cycle. Read
 * from the sources (imports and fully qualified names outside comments), so a new upward import fails here.
 */
class PackageStackTest {
  /** Layer of each package, lowest first; packages of one layer may use each other only without a cycle. */
  static final Map<String, Integer> LAYER = Map.ofEntries(
      Map.entry("io", 0),
      Map.entry("data", 1), Map.entry("data.synth", 1),
      Map.entry("kernels", 2),
      Map.entry("model", 3),
      Map.entry("mla", 4),
      Map.entry("", 5),  // the recognizer API: dev.mha2mla's own classes
      Map.entry("distributed", 5),  // c10d process groups for data-parallel training and evaluation
      Map.entry("train", 6), Map.entry("eval", 6),
      Map.entry("eval.bench", 6),  // the harness of `mha2mla benchmark` and the pipeline's benchmark step
      Map.entry("pipeline", 7),
      Map.entry("cli", 8));

  private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.mha2mla((?:\\.[a-z][a-z0-9]*)*)\\.[A-Z]");

  @Test
  void everyPackageUsesOnlyLowerLayersWithoutCycles() throws IOException {
    Map<String, Set<String>> uses = uses(Fixtures.repoRoot().resolve("java/src/main/java/dev/mha2mla"));
    assertThat(uses.keySet()).as("every package has a layer").isSubsetOf(LAYER.keySet());
    List<String> upward = new ArrayList<>();
    uses.forEach((from, targets) -> {
      for (String to : targets) {
        if (!LAYER.containsKey(to)) upward.add(name(from) + " -> " + name(to) + " (a package with no layer)");
        else if (LAYER.get(to) > LAYER.get(from)) upward.add(name(from) + " -> " + name(to));
      }
    });
    assertThat(upward).as("uses of a higher layer").isEmpty();
    assertThat(cycle(uses)).as("a cycle among packages").isEmpty();
  }

  /** The scan itself: a hand-made tree with an upward import and a cycle is caught. */
  @Test
  void theScanSeesImportsAndQualifiedNamesButNotComments(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
    write(dir.resolve("io/A.java"), "package dev.mha2mla.io;\nimport dev.mha2mla.model.B;\nclass A {}\n");
    write(dir.resolve("model/B.java"), "package dev.mha2mla.model;\n// dev.mha2mla.cli.Main is only named here\n"
        + "class B { Object x = new dev.mha2mla.kernels.C(); }\n");
    write(dir.resolve("kernels/C.java"), "package dev.mha2mla.kernels;\nimport static dev.mha2mla.io.A.f;\nclass C {}\n");
    Map<String, Set<String>> uses = uses(dir);
    assertThat(uses).containsEntry("io", Set.of("model")).containsEntry("model", Set.of("kernels"))
        .containsEntry("kernels", Set.of("io"));
    assertThat(cycle(uses)).containsExactly("io", "model", "kernels", "io");
  }

  /** Per package (relative to dev.mha2mla, "" for the root), the other packages its sources refer to. */
  static Map<String, Set<String>> uses(Path root) throws IOException {
    Map<String, Set<String>> out = new TreeMap<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
        Set<String> targets = out.computeIfAbsent(pkg, k -> new TreeSet<>());
        for (String line : withoutComments(Files.readString(f)).split("\n")) {
          if (line.startsWith("package ")) continue;
          Matcher m = REFERENCE.matcher(line);
          while (m.find()) {
            String target = m.group(1).isEmpty() ? "" : m.group(1).substring(1);
            if (!target.equals(pkg)) targets.add(target);
          }
        }
      }
    }
    return out;
  }

  /** The source with // and block comments blanked (string literals are left as they are). */
  static String withoutComments(String source) {
    return source.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", "");
  }

  /** One cycle as a path that ends where it starts, or empty. */
  static List<String> cycle(Map<String, Set<String>> uses) {
    Set<String> done = new HashSet<>();
    for (String start : uses.keySet()) {
      List<String> path = new ArrayList<>();
      List<String> found = visit(start, uses, path, done);
      if (!found.isEmpty()) return found;
    }
    return List.of();
  }

  private static List<String> visit(String node, Map<String, Set<String>> uses, List<String> path, Set<String> done) {
    int at = path.indexOf(node);
    if (at >= 0) {
      List<String> c = new ArrayList<>(path.subList(at, path.size()));
      c.add(node);
      return c;
    }
    if (done.contains(node)) return List.of();
    path.add(node);
    for (String next : uses.getOrDefault(node, Set.of())) {
      List<String> found = visit(next, uses, path, done);
      if (!found.isEmpty()) return found;
    }
    path.remove(path.size() - 1);
    done.add(node);
    return List.of();
  }

  private static String name(String pkg) {
    return pkg.isEmpty() ? "dev.mha2mla" : pkg;
  }

  private static void write(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
  }
}
