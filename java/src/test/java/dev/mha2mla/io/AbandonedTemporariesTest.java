package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Temporary folders of runs killed with -9 are removed by the next run; those of live processes are kept. */
class AbandonedTemporariesTest {
  @TempDir Path dir;

  @Test
  void deadRunsFoldersGoLiveOnesStay() throws Exception {
    Process dead = new ProcessBuilder("true").start();
    dead.waitFor();
    long deadPid = dead.pid();
    assertThat(ProcessHandle.of(deadPid)).isEmpty();
    long livePid = ProcessHandle.current().parent().orElseThrow().pid();

    Path abandoned = Files.createDirectories(dir.resolve(".corpus.tmp-" + deadPid + "-123456789").resolve(".scratch"));
    Files.writeString(abandoned.resolve("x.wav"), "x");
    Path negativeNano = Files.createDirectories(dir.resolve(".model.tmp-" + deadPid + "--42"));
    Path live = Files.createDirectories(dir.resolve(".corpus.tmp-" + livePid + "-987654321"));
    Path own = Files.createDirectories(dir.resolve(".corpus.tmp-" + ProcessHandle.current().pid() + "-1"));
    Path corpus = Files.createDirectories(dir.resolve("corpus"));
    Path lookalikeFile = Files.writeString(dir.resolve(".notes.tmp-" + deadPid + "-1"), "a file, not a folder");

    assertThat(AtomicFiles.deleteAbandonedTemporaries(dir))
        .containsExactlyInAnyOrder(abandoned.getParent(), negativeNano);

    assertThat(abandoned.getParent()).doesNotExist();
    assertThat(negativeNano).doesNotExist();
    assertThat(live).isDirectory();
    assertThat(own).isDirectory();
    assertThat(corpus).isDirectory();
    assertThat(lookalikeFile).exists();
  }
}
