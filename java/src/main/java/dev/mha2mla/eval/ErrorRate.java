package dev.mha2mla.eval;

import dev.mha2mla.data.TextNormalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Word and character error rates by Levenshtein alignment with unit costs.
 *
 * <p>D[i][j], the edit distance between the first i reference units and the first j hypothesis units:
 * D[i][0] = i, D[0][j] = j, D[i][j] = min(D[i-1][j-1] + [r_i != h_j], D[i-1][j] + 1 (deletion),
 * D[i][j-1] + 1 (insertion)). Several alignments can reach the minimum with different mixes (two
 * substitutions, or one deletion and one insertion); the trace back from (n, m) takes the diagonal
 * (hit or substitution) first, then deletion, then insertion, so counts are reproducible.
 *
 * <p>Words are the whitespace-separated tokens. Characters are those of the words joined by single
 * spaces, spaces included (jiwer's {@code cer} on such text). Both texts are compared as given: callers
 * normalise references with {@link TextNormalizer}; a CTC model's output is already in that vocabulary.
 * A corpus rate sums the counts of all utterances before dividing ({@link EditCounts#plus}); it is not
 * the mean of per-utterance rates.
 */
public final class ErrorRate {
  private static final byte HIT = 0;
  private static final byte SUBSTITUTION = 1;
  private static final byte DELETION = 2;
  private static final byte INSERTION = 3;

  private ErrorRate() {}

  public static EditCounts words(String reference, String hypothesis) {
    return align(Arrays.asList(TextNormalizer.words(reference)), Arrays.asList(TextNormalizer.words(hypothesis)));
  }

  public static EditCounts characters(String reference, String hypothesis) {
    return align(characterList(reference), characterList(hypothesis));
  }

  /** Minimum-edit-distance counts of {@code hypothesis} against {@code reference}, compared with equals. */
  public static <T> EditCounts align(List<T> reference, List<T> hypothesis) {
    int n = reference.size();
    int m = hypothesis.size();
    if ((long) (n + 1) * (m + 1) > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("alignment of " + n + " x " + m + " units is too large");
    }
    // two rows of distances, and the whole table of back-pointers (one byte per cell)
    byte[] from = new byte[(n + 1) * (m + 1)];
    int[] previous = new int[m + 1];
    int[] current = new int[m + 1];
    for (int j = 0; j <= m; j++) {
      previous[j] = j;
      from[j] = INSERTION;
    }
    for (int i = 1; i <= n; i++) {
      current[0] = i;
      from[i * (m + 1)] = DELETION;
      T r = reference.get(i - 1);
      for (int j = 1; j <= m; j++) {
        boolean same = r.equals(hypothesis.get(j - 1));
        int best = previous[j - 1] + (same ? 0 : 1);
        byte op = same ? HIT : SUBSTITUTION;
        if (previous[j] + 1 < best) {
          best = previous[j] + 1;
          op = DELETION;
        }
        if (current[j - 1] + 1 < best) {
          best = current[j - 1] + 1;
          op = INSERTION;
        }
        current[j] = best;
        from[i * (m + 1) + j] = op;
      }
      int[] t = previous;
      previous = current;
      current = t;
    }
    long s = 0;
    long d = 0;
    long ins = 0;
    int i = n;
    int j = m;
    while (i > 0 || j > 0) {
      switch (from[i * (m + 1) + j]) {
        case HIT -> {
          i--;
          j--;
        }
        case SUBSTITUTION -> {
          s++;
          i--;
          j--;
        }
        case DELETION -> {
          d++;
          i--;
        }
        default -> {
          ins++;
          j--;
        }
      }
    }
    return new EditCounts(s, d, ins, n);
  }

  private static List<Integer> characterList(String text) {
    String joined = String.join(" ", TextNormalizer.words(text));
    List<Integer> out = new ArrayList<>(joined.length());
    joined.codePoints().forEach(out::add);
    return out;
  }
}
