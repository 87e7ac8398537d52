package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Datasets;
import dev.mha2mla.distributed.Group;
import dev.mha2mla.distributed.Rendezvous;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A set prepared over two ranks (two threads of this JVM, each with its own c10d store client and Gloo group on
 * loopback): each rank reads only its contiguous share of the audio, and both end with what one process reading
 * everything ends with, bit for bit; an unreadable file in one rank's share fails both, naming it.
 */
class TrainingDataTest {
  @TempDir static Path dir;
  private static SpeechRecognizer tiny;
  private static CtcLabels labels;

  @BeforeAll
  static void open() throws IOException {
    tiny = SpeechRecognizer.open(Fixtures.conformerTiny());
    labels = new CtcLabels(tiny.vocabulary());
  }

  @AfterAll
  static void close() {
    tiny.close();
  }

  /** Seven utterances of different lengths: rank 0 reads 0..2, rank 1 reads 3..6. */
  private static Path manifest(String name, int corrupt) throws IOException {
    String[] words = {"A TONE", "SEE", "HI", "TO BE", "ONE", "THE SEA", "AT"};
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < words.length; i++) {
      Path wav = dir.resolve(name + "-" + i + ".wav");
      if (i == corrupt) {
        Files.write(wav, new byte[] {'R', 'I', 'F', 'F', 1, 2, 3});
      } else {
        TrainingFixtures.writeTones(wav, 8000 + 1700 * i, 200 + 30 * i, 1 + i % 3);
      }
      lines.add(wav.getFileName() + "\t" + words[i]);
    }
    return TrainingFixtures.manifest(dir, name + ".tsv", lines.toArray(new String[0]));
  }

  private record Prepared(TrainingData data, List<Integer> read, Exception failure) {}

  private static Prepared prepare(Dataset set, Group group) {
    List<Integer> read = new ArrayList<>();
    try {
      return new Prepared(TrainingData.prepare("--train", set, labels, tiny.model().featureEncoder(), tiny.normalizer(),
          read::add, group), read, null);
    } catch (Exception e) {
      return new Prepared(null, read, e);
    }
  }

  /** Both ranks, each on a thread of its own, joined through a store on a free loopback port. */
  private static List<Prepared> overTwoRanks(Dataset set) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Prepared>> ranks = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        Rendezvous where = new Rendezvous(2, r, r, 2, "127.0.0.1", port, Duration.ofSeconds(60), false);
        ranks.add(pool.submit(() -> {
          try (Group group = Group.connect(where)) {
            return prepare(set, group);
          }
        }));
      }
      List<Prepared> out = new ArrayList<>();
      for (Future<Prepared> f : ranks) out.add(f.get(2, TimeUnit.MINUTES));
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void twoRanksReadDisjointSharesAndEndWithWhatOneProcessReads() throws Exception {
    Dataset set = Datasets.open(manifest("good", -1), false);
    Prepared alone = prepare(set, Group.SINGLE);
    assertThat(alone.failure()).isNull();
    assertThat(alone.read()).containsExactly(0, 1, 2, 3, 4, 5, 6);

    List<Prepared> ranks = overTwoRanks(set);
    assertThat(ranks.get(0).read()).containsExactly(0, 1, 2);
    assertThat(ranks.get(1).read()).containsExactly(3, 4, 5, 6);
    int[] all = {6, 0, 3, 5, 1, 4, 2};
    TrainingData.Batch expected = alone.data().batch(all);
    WaveformStatistics stats = alone.data().rawStatistics();
    for (Prepared rank : ranks) {
      assertThat(rank.failure()).isNull();
      TrainingData data = rank.data();
      assertThat(data.fingerprint()).isEqualTo(alone.data().fingerprint());
      assertThat(data.sampleCounts()).containsExactly(alone.data().sampleCounts());
      // the per-utterance sums are added in utterance order on every rank, as one process adds them
      assertThat(data.rawStatistics()).isEqualTo(stats);
      for (int i = 0; i < set.size(); i++) {
        assertThat(data.item(i).frames()).isEqualTo(alone.data().item(i).frames());
        assertThat(data.item(i).labels()).containsExactly(alone.data().item(i).labels());
      }
      // audio the rank did not read at start is read on first use, the same samples
      TrainingData.Batch batch = data.batch(all);
      assertThat(batch.audio()).containsExactly(expected.audio());
      assertThat(batch.sampleLengths()).containsExactly(expected.sampleLengths());
    }
  }

  @Test
  void anUnreadableFileInOneRanksShareFailsBothRanksNamingIt() throws Exception {
    Dataset set = Datasets.open(manifest("bad", 5), false);
    Prepared alone = prepare(set, Group.SINGLE);
    assertThat(alone.failure()).isInstanceOf(IOException.class).hasMessageContaining("bad-5.wav");
    List<Prepared> ranks = overTwoRanks(set);
    // rank 0's share was readable: it learns of the file from rank 1, and fails with the same message
    assertThat(ranks.get(0).read()).containsExactly(0, 1, 2);
    assertThat(ranks.get(1).read()).containsExactly(3, 4);
    for (Prepared rank : ranks) {
      assertThat(rank.failure()).isInstanceOf(IOException.class)
          .hasMessage(alone.failure().getMessage() + " (read by rank 1 of 2)");
    }
  }
}
