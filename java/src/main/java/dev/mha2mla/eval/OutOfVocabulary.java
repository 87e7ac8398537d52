package dev.mha2mla.eval;

import dev.mha2mla.data.TextNormalizer;
import dev.mha2mla.data.TrainingWords;
import dev.mha2mla.data.Utterance;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * How many reference words of a test set the model never saw in training ({@link TrainingWords}).
 *
 * @param trainingWords the file the training words were read from
 * @param referenceWords word tokens in the references
 * @param outside of those, tokens whose word is not in the training words
 * @param rate outside / referenceWords
 * @param distinct distinct words outside
 * @param examples up to ten of them, most frequent first (ties alphabetical)
 */
public record OutOfVocabulary(String trainingWords, long referenceWords, long outside, double rate, int distinct,
    List<String> examples) {

  public static OutOfVocabulary of(TrainingWords known, List<Utterance> utterances) {
    long total = 0;
    Map<String, Integer> counts = new TreeMap<>();
    for (Utterance u : utterances) {
      for (String w : TextNormalizer.words(u.transcript())) {
        total++;
        if (!known.contains(w)) counts.merge(w, 1, Integer::sum);
      }
    }
    long outside = counts.values().stream().mapToLong(Integer::longValue).sum();
    List<Map.Entry<String, Integer>> sorted = new ArrayList<>(counts.entrySet());
    sorted.sort(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
    List<String> examples = sorted.stream().limit(10).map(Map.Entry::getKey).toList();
    return new OutOfVocabulary(String.valueOf(known.file()), total, outside, total == 0 ? 0 : (double) outside / total,
        counts.size(), examples);
  }

  /** The warning of {@code o}, or null where there is none (no training words recorded, or none outside them). */
  public static String warningOf(OutOfVocabulary o) {
    return o == null ? null : o.warning();
  }

  /** A one-line warning, or null when every reference word was seen in training. */
  public String warning() {
    if (outside == 0) return null;
    return String.format(Locale.ROOT, "warning: %d of %d reference words (%.2f%%, %d distinct, e.g. %s) are outside the "
        + "words the model was trained on (%s); the WER counts them too", outside, referenceWords, 100 * rate, distinct,
        String.join(", ", examples.subList(0, Math.min(3, examples.size()))), trainingWords);
  }
}
