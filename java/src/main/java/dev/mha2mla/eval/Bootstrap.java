package dev.mha2mla.eval;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Confidence intervals of corpus error rates by the bootstrap over utterances (Bisani and Ney, ICASSP 2004): the
 * utterances are drawn with replacement B times, each draw's rate is sum(errors) / sum(reference length), and the
 * 95% interval is the 2.5th and 97.5th percentile of those rates. Utterances, not words, are the unit drawn because
 * errors within an utterance are correlated. Two systems scored on the same utterances are compared by the paired
 * bootstrap: one draw of utterances scores both, so what they share (hard utterances) cancels in the difference.
 * The draws are seeded: a report computed twice from the same files prints the same intervals.
 */
public final class Bootstrap {
  /** Draws per interval; the Monte Carlo error of a 2.5% percentile at B = 10,000 is about 0.16% of the draws. */
  public static final int DRAWS = 10_000;
  public static final double LEVEL = 0.95;
  private static final long SEED = 20040517L;

  private Bootstrap() {}

  /** A two-sided interval at {@link #LEVEL}. */
  public record Interval(double low, double high) {
    public boolean contains(double x) {
      return low <= x && x <= high;
    }
  }

  /**
   * other's rate minus the baseline's on the same utterances, its interval, and the two-sided p-value of "no
   * difference": the share of draws whose difference lies at least |difference| from the observed one (the centred
   * bootstrap distribution stands in for the difference's distribution under the null hypothesis).
   */
  public record PairedDifference(double difference, Interval interval, double pValue) {
    /** The interval excludes zero: the systems differ at the 5% level. */
    public boolean significant() {
      return !interval.contains(0);
    }
  }

  /** The interval of the corpus rate of these utterances' counts. */
  public static Interval corpusRate(List<EditCounts> utterances) {
    long[] errors = errors(utterances);
    long[] length = lengths(utterances);
    double[] rates = new double[DRAWS];
    SplittableRandom random = new SplittableRandom(SEED);
    int n = errors.length;
    for (int b = 0; b < DRAWS; b++) {
      long e = 0;
      long r = 0;
      for (int k = 0; k < n; k++) {
        int i = random.nextInt(n);
        e += errors[i];
        r += length[i];
      }
      rates[b] = (double) e / Math.max(1, r);
    }
    return percentiles(rates);
  }

  /** The paired comparison of two systems' counts on the same utterances, in the same order. */
  public static PairedDifference paired(List<EditCounts> baseline, List<EditCounts> other) {
    if (baseline.size() != other.size()) {
      throw new IllegalArgumentException("a paired comparison needs the same utterances: " + baseline.size() + " against "
          + other.size());
    }
    long[] errorsA = errors(baseline);
    long[] errorsB = errors(other);
    long[] length = lengths(baseline);
    long[] lengthB = lengths(other);
    if (!Arrays.equals(length, lengthB)) {
      throw new IllegalArgumentException("a paired comparison needs the same references: reference lengths differ");
    }
    double observed = rate(errorsB, length) - rate(errorsA, length);
    double[] diffs = new double[DRAWS];
    SplittableRandom random = new SplittableRandom(SEED);
    int n = length.length;
    int extreme = 0;
    for (int b = 0; b < DRAWS; b++) {
      long ea = 0;
      long eb = 0;
      long r = 0;
      for (int k = 0; k < n; k++) {
        int i = random.nextInt(n);
        ea += errorsA[i];
        eb += errorsB[i];
        r += length[i];
      }
      diffs[b] = (double) (eb - ea) / Math.max(1, r);
      if (Math.abs(diffs[b] - observed) >= Math.abs(observed)) extreme++;
    }
    return new PairedDifference(observed, percentiles(diffs), (extreme + 1.0) / (DRAWS + 1.0));
  }

  private static double rate(long[] errors, long[] length) {
    return (double) Arrays.stream(errors).sum() / Math.max(1, Arrays.stream(length).sum());
  }

  private static Interval percentiles(double[] draws) {
    Arrays.sort(draws);
    double tail = (1 - LEVEL) / 2;
    int lo = (int) Math.floor(tail * (draws.length - 1));
    int hi = (int) Math.ceil((1 - tail) * (draws.length - 1));
    return new Interval(draws[lo], draws[hi]);
  }

  private static long[] errors(List<EditCounts> utterances) {
    if (utterances.isEmpty()) throw new IllegalArgumentException("no utterances to draw from");
    return utterances.stream().mapToLong(EditCounts::errors).toArray();
  }

  private static long[] lengths(List<EditCounts> utterances) {
    return utterances.stream().mapToLong(EditCounts::referenceLength).toArray();
  }
}
