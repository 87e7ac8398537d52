package dev.mha2mla.data;

import dev.mha2mla.io.MalformedFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Reads the LibriSpeech layout: {@code PART/SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt}, each line
 * {@code ID TRANSCRIPT}, with the audio {@code ID.flac} (or {@code ID.wav}) in the same folder.
 * Pass one part ({@code LibriSpeech/test-clean}); a folder holding several parts is refused rather
 * than merged. Utterances come in path order of the transcript files, then line order.
 *
 * <p>The tree must be consistent: a transcript line whose audio is missing, or an audio file that no
 * transcript line names, is an error, so a partly copied or partly extracted tree is noticed.
 */
public final class LibriSpeech {
  private static final String SUFFIX = ".trans.txt";

  private LibriSpeech() {}

  /** Whether any {@code *.trans.txt} file lies below {@code dir}. */
  public static boolean holdsTranscripts(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.anyMatch(LibriSpeech::isTranscriptFile);
    }
  }

  public static Dataset open(Path root) throws IOException {
    List<Path> transcripts;
    try (Stream<Path> walk = Files.walk(root)) {
      transcripts = walk.filter(LibriSpeech::isTranscriptFile).sorted().toList();
    }
    if (transcripts.isEmpty()) throw new NoSuchFileException(root + ": no *" + SUFFIX + " files: not a LibriSpeech folder");
    checkSinglePart(root, transcripts);

    Datasets.UtteranceCollector collector = new Datasets.UtteranceCollector(root.toString());
    Set<Path> named = new HashSet<>();
    for (Path file : transcripts) {
      int lineNo = 0;
      for (String line : Datasets.readLines(file)) {
        lineNo++;
        String text = line.strip();
        if (text.isEmpty()) continue;
        int space = text.indexOf(' ');
        String id = space < 0 ? text : text.substring(0, space);
        String transcript = space < 0 ? "" : text.substring(space + 1);
        if (id.contains("/") || id.contains("\\") || id.equals(".") || id.equals("..") || id.contains("\t")) {
          throw new MalformedFileException(file, "line " + lineNo + ": '" + id + "' is not an utterance id;"
              + " expected 'ID TRANSCRIPT' with the audio ID.flac beside this file");
        }
        Path audio = audioFor(file.getParent(), id);
        if (audio == null) {
          throw new NoSuchFileException(file + ":" + lineNo + ": no audio for utterance " + id + ": neither " + id
              + ".flac nor " + id + ".wav is in " + file.getParent());
        }
        named.add(stem(audio));
        collector.add(file + ":" + lineNo, id, audio, transcript);
      }
    }
    checkEveryAudioFileNamed(root, named);
    if (collector.isEmpty()) throw new MalformedFileException(transcripts.get(0), "the transcript files list no utterances");
    return collector.build();
  }

  // ID.wav beside a named ID.flac is a copy of the same utterance, not an orphan
  private static Path stem(Path audio) {
    String name = audio.getFileName().toString();
    return audio.toAbsolutePath().normalize().resolveSibling(name.substring(0, name.lastIndexOf('.')));
  }

  private static boolean isTranscriptFile(Path p) {
    return p.getFileName().toString().endsWith(SUFFIX) && Files.isRegularFile(p);
  }

  private static Path audioFor(Path dir, String id) {
    for (String ext : new String[] {".flac", ".wav"}) {
      Path p = dir.resolve(id + ext);
      if (Files.isRegularFile(p)) return p;
    }
    return null;
  }

  // SPEAKER/CHAPTER/x.trans.txt is depth 2 below a part; anything deeper belongs to a named part
  private static void checkSinglePart(Path root, List<Path> transcripts) {
    Set<String> parts = new TreeSet<>();
    for (Path t : transcripts) {
      Path rel = root.relativize(t);
      if (rel.getNameCount() > 3) parts.add(rel.getName(0).toString());
    }
    if (parts.size() > 1) {
      throw new IllegalArgumentException(root + " holds " + parts.size() + " dataset parts (" + String.join(", ", parts)
          + "); pass one of them, e.g. " + root.resolve(parts.iterator().next()));
    }
  }

  private static void checkEveryAudioFileNamed(Path root, Set<Path> named) throws IOException {
    List<Path> orphans = new ArrayList<>();
    for (Path audio : AudioFiles.list(root)) {
      if (!named.contains(stem(audio))) orphans.add(audio);
    }
    if (orphans.isEmpty()) return;
    Path first = orphans.get(0);
    String name = first.getFileName().toString();
    String id = name.substring(0, name.lastIndexOf('.'));
    List<String> here;
    try (Stream<Path> list = Files.list(first.getParent())) {
      here = list.filter(LibriSpeech::isTranscriptFile).map(p -> p.getFileName().toString()).sorted().toList();
    }
    String where = here.isEmpty() ? "its folder holds no *" + SUFFIX + " file"
        : "no line starting '" + id + " ' in " + String.join(" or ", here);
    throw new IOException(first + ": audio file without a transcript: " + where
        + (orphans.size() > 1 ? " (and " + (orphans.size() - 1) + " more such files)" : ""));
  }
}
