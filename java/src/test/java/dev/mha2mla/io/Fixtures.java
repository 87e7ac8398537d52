package dev.mha2mla.io;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the golden fixtures (outputs of HuggingFace's own code, kept in the repository's test resources). The folder
 * comes from the system property {@value #PROPERTY} if set (the build sets it from the Maven property of that name, so
 * {@code mvn verify -Dmha2mla.fixtures=DIR} tests against another set), otherwise
 * {@code <repo>/java/src/test/resources/fixtures}, where {@code <repo>} is the nearest folder at or above the working
 * directory that contains {@code native/} or {@code .git}.
 */
public final class Fixtures {
  public static final String PROPERTY = "mha2mla.fixtures";
  /** Where the fixtures live in the repository. */
  public static final String IN_REPOSITORY = "java/src/test/resources/fixtures";

  private Fixtures() {
  }

  /** The folder that holds every fixture set. */
  public static Path root() {
    String configured = System.getProperty(PROPERTY);
    if (configured != null && !configured.isBlank()) {
      return existingDirectory(Path.of(configured).toAbsolutePath().normalize(), "-D" + PROPERTY);
    }
    return existingDirectory(repoRoot().resolve(IN_REPOSITORY), "<repo>/" + IN_REPOSITORY);
  }

  /** The conformer-tiny fixture set (see its README.md). */
  public static Path conformerTiny() {
    return existingDirectory(root().resolve("conformer-tiny"), "conformer-tiny");
  }

  /** The repository root: the nearest folder at or above user.dir containing {@code native/} or {@code .git}. */
  public static Path repoRoot() {
    Path start = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path p = start; p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("native")) || Files.exists(p.resolve(".git"))) {
        return p;
      }
    }
    throw new IllegalStateException("no folder containing native/ or .git at or above " + start
        + "; set -D" + PROPERTY + "=<fixtures folder>");
  }

  private static Path existingDirectory(Path dir, String origin) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("fixtures not found at " + dir + " (from " + origin
          + "); set -D" + PROPERTY + "=<fixtures folder>");
    }
    return dir;
  }
}
