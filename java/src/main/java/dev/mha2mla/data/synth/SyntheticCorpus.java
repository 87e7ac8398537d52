package dev.mha2mla.data.synth;

import dev.mha2mla.data.FlacReader;
import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RunInfo;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;

/**
 * Writes a {@link CorpusPlan} as a synthetic speech corpus in the LibriSpeech layout:
 * <pre>
 * DIR/corpus.json                         how it was made ({@link CorpusDescription}), marked as synthetic
 * DIR/vocabulary.txt                      the closed vocabulary, one word a line
 * DIR/{train,validation,test}/SPEAKER/CHAPTER/SPEAKER-CHAPTER-NNNN.flac   16 kHz 16-bit mono
 * DIR/{train,validation,test}/SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt   "ID TRANSCRIPT" lines
 * </pre>
 * The corpus is built in a hidden sibling folder and renamed into place when complete, so {@code DIR}
 * is either absent, the previous corpus, or the whole new one.
 */
public final class SyntheticCorpus {
  private SyntheticCorpus() {}

  /**
   * @param jobs utterances rendered at once (each runs espeak-ng then sox)
   * @param done called with the number of utterances rendered so far; may be null
   */
  public static CorpusDescription write(CorpusPlan plan, SpeechTools tools, Path out, boolean overwrite, int jobs,
      IntConsumer done) throws IOException {
    if (jobs < 1) throw new IllegalArgumentException("--jobs must be at least 1, got " + jobs);
    if (Files.exists(out) && !overwrite) {
      throw new FileAlreadyExistsException(out + ": already exists; pass --overwrite to replace it or choose another --out");
    }
    if (Files.exists(out) && !Files.isDirectory(out)) throw new IOException(out + ": exists and is not a folder");
    Path parent = out.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    AtomicFiles.deleteAbandonedTemporaries(parent);
    Path tmp = parent.resolve("." + out.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    try {
      Files.createDirectory(tmp);
      render(plan, tools, tmp, jobs, done);
      for (String split : Splits.NAMES) writeTranscripts(plan.split(split), tmp.resolve(split));
      AtomicFiles.writeString(tmp.resolve("vocabulary.txt"), String.join("\n", plan.vocabulary()) + "\n");
      CorpusDescription description = describe(plan, tools, tmp);
      Json.write(tmp.resolve("corpus.json"), description);
      AtomicFiles.replaceDirectory(tmp, out);
      return description;
    } catch (IOException | RuntimeException e) {
      if (Files.exists(tmp)) AtomicFiles.deleteRecursively(tmp);
      throw e;
    }
  }

  private static void render(CorpusPlan plan, SpeechTools tools, Path root, int jobs, IntConsumer done) throws IOException {
    Path scratch = Files.createDirectory(root.resolve(".scratch"));
    for (SyntheticUtterance u : plan.utterances()) Files.createDirectories(root.resolve(u.split()).resolve(u.folder()));
    ExecutorService pool = Executors.newFixedThreadPool(jobs, r -> {
      Thread t = new Thread(r, "synth");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (SyntheticUtterance u : plan.utterances()) {
        Path flac = root.resolve(u.split()).resolve(u.folder()).resolve(u.id() + ".flac");
        futures.add(pool.submit(() -> {
          tools.render(u, flac, scratch);
          return null;
        }));
      }
      int finished = 0;
      for (Future<?> f : futures) {
        try {
          f.get();
        } catch (ExecutionException e) {
          if (e.getCause() instanceof IOException io) throw io;
          if (e.getCause() instanceof RuntimeException re) throw re;
          throw new IOException(e.getCause());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while rendering speech", e);
        }
        if (done != null) done.accept(++finished);
      }
    } finally {
      pool.shutdownNow();
    }
    AtomicFiles.deleteRecursively(scratch);
  }

  private static void writeTranscripts(List<SyntheticUtterance> utterances, Path splitDir) throws IOException {
    Map<String, List<SyntheticUtterance>> byChapter = new TreeMap<>();
    for (SyntheticUtterance u : utterances) byChapter.computeIfAbsent(u.folder(), k -> new ArrayList<>()).add(u);
    for (Map.Entry<String, List<SyntheticUtterance>> e : byChapter.entrySet()) {
      List<SyntheticUtterance> chapter = new ArrayList<>(e.getValue());
      chapter.sort((a, b) -> a.id().compareTo(b.id()));
      StringBuilder text = new StringBuilder();
      for (SyntheticUtterance u : chapter) text.append(u.id()).append(' ').append(u.transcript()).append('\n');
      SyntheticUtterance first = chapter.get(0);
      String name = first.voice().speaker() + "-" + first.chapter() + ".trans.txt";
      AtomicFiles.writeString(splitDir.resolve(e.getKey()).resolve(name), text.toString());
    }
  }

  private static CorpusDescription describe(CorpusPlan plan, SpeechTools tools, Path root) throws IOException {
    Map<String, String> speakers = new TreeMap<>();
    Map<String, CorpusDescription.Split> splits = new LinkedHashMap<>();
    for (String name : Splits.NAMES) {
      double seconds = 0;
      TreeSet<String> who = new TreeSet<>();
      List<SyntheticUtterance> list = plan.split(name);
      for (SyntheticUtterance u : list) {
        seconds += FlacReader.header(root.resolve(name).resolve(u.folder()).resolve(u.id() + ".flac")).durationSeconds();
        who.add(Integer.toString(u.voice().speaker()));
        speakers.put(Integer.toString(u.voice().speaker()), u.voice().espeakName());
      }
      splits.put(name, new CorpusDescription.Split(list.size(), Math.round(seconds * 1000) / 1000.0, who.toArray(new String[0])));
    }
    return new CorpusDescription(CorpusDescription.NOTE, plan.seed(), plan.utterances().size(), plan.vocabularySize(),
        "the " + plan.vocabularySize() + " most frequent words of the list embedded in mha2mla (counted in Debian "
            + "fortunes-min); see vocabulary.txt",
        CorpusPlan.MIN_WORDS + " to " + CorpusPlan.MAX_WORDS + " words, each drawn independently with probability "
            + "proportional to sqrt(count); no grammar; each sentence spoken once, so splits share no sentence",
        "FLAC, 16 kHz, 16-bit, mono", SyntheticVoice.LANGUAGES, SyntheticVoice.VARIANTS,
        new int[] {CorpusPlan.MIN_SPEED, CorpusPlan.MAX_SPEED}, new int[] {CorpusPlan.MIN_PITCH, CorpusPlan.MAX_PITCH},
        speakers, splits, tools.espeakVersion(), tools.soxVersion(),
        "espeak-ng -v LANGUAGE+VARIANT -s WPM -p PITCH -w tmp.wav \"text.\" && sox -R -D tmp.wav -r 16000 -b 16 -c 1 ID.flac",
        RunInfo.capture("cpu"));
  }
}
