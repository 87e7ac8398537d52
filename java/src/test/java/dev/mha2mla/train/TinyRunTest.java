package dev.mha2mla.train;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** Trainer tests over one {@link TrainingFixtures.TinyRun}, made once per test class. */
abstract class TinyRunTest {
  @TempDir static Path shared;
  static TrainingFixtures.TinyRun tiny;

  @BeforeAll
  static void convertAndMakeData() throws IOException {
    tiny = TrainingFixtures.TinyRun.in(shared);
  }
}
