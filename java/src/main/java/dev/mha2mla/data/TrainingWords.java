package dev.mha2mla.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.MalformedFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The distinct words of every transcript a model was trained on, as far as its folder records them
 * ({@value #FILE}). A CTC model spells letters, so it can write a word it never heard, but rarely does it well: a test
 * set whose words lie outside this set measures something other than the model's accuracy on what it learned.
 *
 * <p>The file exists only where the whole training history is known: a model trained from scratch by mha2mla, and
 * every model fine-tuned or converted from one (the union of the source's words and the new training data's). A
 * pretrained model from elsewhere has none, and nothing is claimed about it.
 *
 * @param file where the words were read from (null when not yet written)
 * @param words the words, upper case as {@link TextNormalizer} writes them
 */
public record TrainingWords(Path file, Set<String> words) {
  public static final String FILE = "training_words.json";

  /** The JSON document: {@code {"note": ..., "count": N, "words": [...]}}, words sorted. */
  public record Document(String note, int count, List<String> words) {}

  private static final String NOTE = "The distinct words of every transcript this model was trained on (the union over "
      + "its training history). mha2mla evaluate warns when a test set holds words outside this list.";

  public TrainingWords {
    words = Set.copyOf(words);
  }

  /** The words of the utterances' transcripts. */
  public static TrainingWords of(Collection<Utterance> utterances) {
    Set<String> out = new TreeSet<>();
    for (Utterance u : utterances) out.addAll(List.of(TextNormalizer.words(u.transcript())));
    return new TrainingWords(null, out);
  }

  /**
   * The words {@code modelDir} records, or null where it records none.
   *
   * @throws MalformedFileException if the file is not such a document
   */
  public static TrainingWords read(Path modelDir) throws IOException {
    Path file = modelDir.resolve(FILE);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    }
    Document d;
    try {
      d = Json.MAPPER.readValue(bytes, Document.class);
    } catch (JsonProcessingException e) {
      throw new MalformedFileException(file, "not a training-words document: " + e.getOriginalMessage(), e);
    }
    if (d == null || d.words() == null) throw new MalformedFileException(file, "no \"words\" list");
    Set<String> words = new TreeSet<>();
    for (String w : d.words()) {
      if (w == null || w.isBlank() || !w.equals(TextNormalizer.normalize(w).text())) {
        throw new MalformedFileException(file, "\"" + w + "\" is not a normalised word (upper-case letters and apostrophes)");
      }
      words.add(w);
    }
    if (words.size() != d.words().size()) throw new MalformedFileException(file, "a word is listed twice");
    return new TrainingWords(file, words);
  }

  /** These words and {@code other}'s; {@code other} may be null. */
  public TrainingWords union(TrainingWords other) {
    if (other == null) return this;
    Set<String> all = new TreeSet<>(words);
    all.addAll(other.words);
    return new TrainingWords(null, all);
  }

  /** The document to write as {@value #FILE}. */
  public Document document() {
    List<String> sorted = new ArrayList<>(new TreeSet<>(words));
    return new Document(NOTE, sorted.size(), sorted);
  }

  public boolean contains(String word) {
    return words.contains(word);
  }
}
