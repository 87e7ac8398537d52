package dev.mha2mla.data.synth;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The words a synthetic corpus may use, most frequent first, each with a count. The embedded list
 * ({@code /data/words.txt}: 400 words counted in Debian's fortunes-min, frozen in the jar) is the only
 * source, so a seed gives the same sentences on every machine whatever packages it has.
 */
public record ClosedVocabulary(List<String> words, List<Integer> counts) {
  public ClosedVocabulary {
    if (words.isEmpty() || words.size() != counts.size()) throw new IllegalArgumentException("empty or inconsistent vocabulary");
    words = List.copyOf(words);
    counts = List.copyOf(counts);
  }

  public static ClosedVocabulary embedded() {
    try (InputStream in = ClosedVocabulary.class.getResourceAsStream("/data/words.txt")) {
      if (in == null) throw new IllegalStateException("resource /data/words.txt is missing from the build");
      List<String> words = new ArrayList<>();
      List<Integer> counts = new ArrayList<>();
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (line.isBlank() || line.startsWith("#")) continue;
        String[] f = line.strip().split("\t");
        words.add(f[0]);
        counts.add(Integer.parseInt(f[1]));
      }
      return new ClosedVocabulary(words, counts);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int size() {
    return words.size();
  }

  /** The {@code n} most frequent words. */
  public ClosedVocabulary top(int n) {
    if (n < 2 || n > size()) {
      throw new IllegalArgumentException("vocabulary size must be between 2 and " + size() + ", got " + n);
    }
    return new ClosedVocabulary(words.subList(0, n), counts.subList(0, n));
  }
}
