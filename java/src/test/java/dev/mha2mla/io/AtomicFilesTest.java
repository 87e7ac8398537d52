package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
  @TempDir
  Path dir;

  @Test
  void writeCreatesAndReplacesFilesLeavingNoTemporaries() throws IOException {
    Path target = dir.resolve("config.json");

    AtomicFiles.writeString(target, "{\"v\": 1}");
    AtomicFiles.writeString(target, "{\"v\": \"é\"}");

    assertThat(target).hasContent("{\"v\": \"é\"}");
    assertThat(listing()).containsExactly("config.json");
  }

  @Test
  void bodyMayCloseItsStream() throws IOException {
    Path target = dir.resolve("closed.bin");
    AtomicFiles.write(target, out -> {
      out.write(new byte[] {1, 2, 3});
      out.close();
    });
    assertThat(target).hasBinaryContent(new byte[] {1, 2, 3});
  }

  @Test
  void failingBodyLeavesTheOldFileAndNoTemporary() throws IOException {
    Path target = dir.resolve("model.safetensors");
    AtomicFiles.writeString(target, "old");

    assertThatThrownBy(() -> AtomicFiles.write(target, out -> {
      out.write("half of the new con".getBytes());
      throw new IOException("disk full");
    })).isInstanceOf(IOException.class).hasMessage(target + ": could not write the file: disk full")
        .hasRootCauseMessage("disk full");
    assertThatThrownBy(() -> AtomicFiles.write(target, out -> {
      out.write("new".getBytes());
      throw new IllegalStateException("bug");
    })).isInstanceOf(IllegalStateException.class);

    assertThat(target).hasContent("old");
    assertThat(listing()).containsExactly("model.safetensors");
  }

  @Test
  void newFilesGetTheUsualPermissionsNotOwnerOnly() throws IOException {
    assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
    Path plain = Files.createFile(dir.resolve("plain"));
    Path atomic = dir.resolve("atomic");

    AtomicFiles.writeString(atomic, "x");

    assertThat(Files.getPosixFilePermissions(atomic)).isEqualTo(Files.getPosixFilePermissions(plain));
  }

  @Test
  void replaceDirectoryPublishesANewFolder() throws IOException {
    Path staged = Files.createDirectory(dir.resolve("model.partial"));
    AtomicFiles.writeString(staged.resolve("config.json"), "{}");
    Path target = dir.resolve("model");

    AtomicFiles.replaceDirectory(staged, target);

    assertThat(target.resolve("config.json")).hasContent("{}");
    assertThat(listing()).containsExactly("model");
  }

  @Test
  void replaceDirectorySwapsOutAnExistingFolderAndDeletesIt() throws IOException {
    Path target = Files.createDirectories(dir.resolve("model/sub"));
    Files.writeString(target.getParent().resolve("old-only.txt"), "old");
    Files.writeString(target.resolve("deep.txt"), "old");
    Path staged = Files.createDirectory(dir.resolve("model.partial"));
    Files.writeString(staged.resolve("new.txt"), "new");

    AtomicFiles.replaceDirectory(staged, dir.resolve("model"));

    try (Stream<Path> files = Files.list(dir.resolve("model"))) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("new.txt");
    }
    assertThat(listing()).containsExactly("model");
  }

  @Test
  void replaceDirectoryRefusesToReplaceAFile() throws IOException {
    Path target = Files.writeString(dir.resolve("model"), "a file");
    Path staged = Files.createDirectory(dir.resolve("model.partial"));

    assertThatThrownBy(() -> AtomicFiles.replaceDirectory(staged, target))
        .isInstanceOf(IOException.class).hasMessageContaining("not a directory");
    assertThat(target).hasContent("a file");
    assertThat(staged).isDirectory();
    assertThatThrownBy(() -> AtomicFiles.replaceDirectory(dir.resolve("missing"), dir.resolve("x")))
        .isInstanceOf(IOException.class).hasMessageContaining("missing");
  }

  private List<String> listing() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
