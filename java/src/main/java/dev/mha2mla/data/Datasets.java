package dev.mha2mla.data;

import dev.mha2mla.io.MalformedFileException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Opens a dataset from a path:
 * <ul>
 *   <li>a {@code *.tsv} manifest: one {@code path<TAB>transcript} per line, paths relative to the manifest,
 *       blank lines ignored; the id of an utterance is its path as written;
 *   <li>a folder holding {@code *.trans.txt} files: the LibriSpeech layout ({@link LibriSpeech});
 *   <li>any other folder: its {@code *.wav} and {@code *.flac} files, sorted by path, with no transcripts;
 *   <li>a single WAV or FLAC file, with no transcript.
 * </ul>
 * Transcripts are normalised by {@link TextNormalizer}; transcripts it cannot map are reported together
 * in one {@link OutOfVocabularyException}. A source with no utterances at all is an error.
 */
public final class Datasets {
  private Datasets() {}

  /** {@link #open(Path, boolean)} with manifest paths confined to the manifest's folder. */
  public static Dataset open(Path source) throws IOException {
    return open(source, false);
  }

  /**
   * @param allowOutsidePaths whether a manifest may name audio outside its own folder (an absolute path, a
   *     {@code ../} path, a symbolic link leading out); without it such a line is an error naming the manifest, the
   *     line and the path, raised before the file is looked at, so the message says nothing about whether it exists
   */
  public static Dataset open(Path source, boolean allowOutsidePaths) throws IOException {
    if (Files.isRegularFile(source) && source.getFileName().toString().toLowerCase().endsWith(".tsv")) {
      return manifest(source, allowOutsidePaths);
    }
    if (Files.isDirectory(source)) {
      if (LibriSpeech.holdsTranscripts(source)) return LibriSpeech.open(source);
      List<Utterance> list = new ArrayList<>();
      for (Path p : AudioFiles.list(source)) list.add(new Utterance(source.relativize(p).toString(), p, ""));
      if (list.isEmpty()) {
        throw new NoSuchFileException(source + ": no dataset here: the folder holds no *.trans.txt, *.wav or *.flac files");
      }
      return simple(source.toString(), list, false);
    }
    if (Files.isRegularFile(source)) {
      if (!AudioFiles.isAudio(source)) {
        throw new IllegalArgumentException(source + ": not a dataset: expected a *.tsv manifest, a LibriSpeech folder, "
            + "a folder of audio files, or a .wav/.flac file");
      }
      return simple(source.toString(), List.of(new Utterance(source.getFileName().toString(), source, "")), false);
    }
    throw new NoSuchFileException(source + ": no such dataset (a TSV manifest, a folder or an audio file)");
  }

  static Dataset manifest(Path tsv) throws IOException {
    return manifest(tsv, false);
  }

  static Dataset manifest(Path tsv, boolean allowOutsidePaths) throws IOException {
    UtteranceCollector collector = new UtteranceCollector(tsv.toString());
    int lineNo = 0;
    for (String line : readLines(tsv)) {
      lineNo++;
      if (lineNo == 1 && line.startsWith("\uFEFF")) line = line.substring(1);
      if (line.isBlank()) continue;
      String[] parts = line.split("\t", 2);
      if (parts.length != 2) {
        throw new MalformedFileException(tsv, "line " + lineNo + ": expected 'path<TAB>transcript', found no tab");
      }
      Path audio = manifestPath(tsv, lineNo, parts[0], allowOutsidePaths);
      if (!Files.isRegularFile(audio)) throw new NoSuchFileException(tsv + ":" + lineNo + ": audio file " + parts[0] + " does not exist");
      collector.add(tsv + ":" + lineNo, parts[0], audio, parts[1]);
    }
    if (collector.isEmpty()) throw new MalformedFileException(tsv, "the manifest lists no utterances");
    return collector.build();
  }

  /**
   * The audio file that line {@code lineNo} of manifest {@code tsv} names, resolved against the manifest's folder
   * and normalised. Unless {@code allowOutside}, it must lie inside that folder once ".." and symbolic links are
   * resolved: the real path of its deepest existing ancestor, plus the rest, must start with the folder's real path.
   * Judging by the ancestor rather than by the file makes the verdict the same whether or not the file exists.
   */
  static Path manifestPath(Path tsv, int lineNo, String written, boolean allowOutside) throws IOException {
    if (written.indexOf('\0') >= 0) {
      throw new MalformedFileException(tsv, "line " + lineNo + ": the audio path contains a NUL byte");
    }
    Path base = tsv.toAbsolutePath().normalize().getParent();
    Path audio;
    try {
      audio = base.resolve(written).normalize();
    } catch (java.nio.file.InvalidPathException e) {
      throw new MalformedFileException(tsv, "line " + lineNo + ": '" + written + "' is not a valid path (" + e.getReason() + ")");
    }
    if (allowOutside) return audio;
    Path existing = audio;
    while (existing != null && !Files.exists(existing)) existing = existing.getParent();
    boolean inside;
    if (existing == null) {
      inside = false;
    } else {
      Path real = existing.toRealPath().resolve(existing.relativize(audio)).normalize();
      inside = real.startsWith(base.toRealPath()) && !real.equals(base.toRealPath());
    }
    if (!inside) {
      throw new MalformedFileException(tsv, "line " + lineNo + ": audio path '" + written + "' leads outside the "
          + "manifest's folder " + base + "; keep the audio below the manifest, or pass --allow-outside-paths to allow it");
    }
    return audio;
  }

  /** All lines of a UTF-8 text file; other encodings are an error naming the file. */
  static List<String> readLines(Path file) throws IOException {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (CharacterCodingException e) {
      throw new MalformedFileException(file, "not UTF-8 text; convert it, e.g. iconv -f LATIN1 -t UTF-8");
    }
  }

  static Dataset simple(String name, List<Utterance> utterances, boolean hasTranscripts) {
    List<Utterance> copy = List.copyOf(utterances);
    return new Dataset() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public List<Utterance> utterances() {
        return copy;
      }

      @Override
      public boolean hasTranscripts() {
        return hasTranscripts;
      }

      @Override
      public String toString() {
        return name + " (" + copy.size() + " utterances)";
      }
    };
  }

  /** Normalises transcripts as utterances are added, and rejects duplicate ids and unknown characters. */
  static final class UtteranceCollector {
    private final String name;
    private final List<Utterance> utterances = new ArrayList<>();
    private final Map<String, String> whereSeen = new HashMap<>();
    private final List<OutOfVocabularyException.Offender> offenders = new ArrayList<>();

    UtteranceCollector(String name) {
      this.name = name;
    }

    void add(String location, String id, Path audio, String rawTranscript) throws IOException {
      String first = whereSeen.putIfAbsent(id, location);
      if (first != null) throw new IOException(location + ": utterance " + id + " is listed twice (first at " + first + ")");
      TextNormalizer.Result text = TextNormalizer.normalize(rawTranscript);
      if (!text.isClean()) offenders.add(new OutOfVocabularyException.Offender(location, id, text.unknown()));
      utterances.add(new Utterance(id, audio, text.text()));
    }

    boolean isEmpty() {
      return utterances.isEmpty();
    }

    Dataset build() throws OutOfVocabularyException {
      if (!offenders.isEmpty()) throw new OutOfVocabularyException(name, offenders);
      return simple(name, utterances, true);
    }
  }
}
