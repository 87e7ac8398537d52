package dev.mha2mla.data.synth;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Draws distinct sentences from a closed vocabulary: a length uniform in [minWords, maxWords], then
 * each word independently with probability proportional to sqrt(count). The square root flattens
 * the counts so that rarer words still appear while {@code THE} and {@code A} stay the most common.
 * The word sequence has no grammar: it is a closed-vocabulary test of acoustics, not of language.
 */
public final class SentenceSampler {
  private final List<String> words;
  private final double[] cumulative;
  private final int minWords;
  private final int maxWords;

  public SentenceSampler(ClosedVocabulary vocabulary, int minWords, int maxWords) {
    if (minWords < 1 || maxWords < minWords) throw new IllegalArgumentException("bad sentence length range " + minWords + ".." + maxWords);
    this.words = vocabulary.words();
    this.minWords = minWords;
    this.maxWords = maxWords;
    cumulative = new double[words.size()];
    double sum = 0;
    for (int i = 0; i < words.size(); i++) {
      sum += Math.sqrt(vocabulary.counts().get(i));
      cumulative[i] = sum;
    }
    for (int i = 0; i < cumulative.length; i++) cumulative[i] /= sum;
  }

  /** {@code count} distinct sentences (upper-case words joined by single spaces), in the order drawn. */
  public List<String> distinct(int count, SplittableRandom random) {
    Set<String> out = new LinkedHashSet<>();
    long attempts = 0;
    long maxAttempts = 1000L + 100L * count;
    while (out.size() < count) {
      if (++attempts > maxAttempts) {
        throw new IllegalArgumentException("only " + out.size() + " distinct sentences could be drawn from " + words.size()
            + " words; use a larger vocabulary or fewer utterances");
      }
      out.add(next(random));
    }
    return new ArrayList<>(out);
  }

  String next(SplittableRandom random) {
    int length = minWords + random.nextInt(maxWords - minWords + 1);
    StringBuilder s = new StringBuilder();
    for (int k = 0; k < length; k++) {
      int i = Arrays.binarySearch(cumulative, random.nextDouble());
      int index = Math.min(words.size() - 1, i >= 0 ? i + 1 : -i - 1);
      if (k > 0) s.append(' ');
      s.append(words.get(index));
    }
    return s.toString();
  }
}
