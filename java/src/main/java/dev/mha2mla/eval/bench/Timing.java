package dev.mha2mla.eval.bench;

import java.util.Arrays;

/**
 * Wall times of repeated calls, in seconds, summarised by order statistics (a few slow outliers from a busy
 * machine move the median and the quartiles far less than the mean).
 *
 * <p>Quantiles interpolate linearly between order statistics (NumPy's default, "type 7"):
 * q(p) = x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)]), h = (n - 1) p, x sorted.
 *
 * @param medianSeconds q(0.5)
 * @param q1Seconds q(0.25)
 * @param q3Seconds q(0.75)
 * @param minSeconds fastest call
 * @param maxSeconds slowest call
 * @param samples number of timed calls
 */
public record Timing(double medianSeconds, double q1Seconds, double q3Seconds, double minSeconds, double maxSeconds,
    int samples) {

  /** Summarises calls' wall times (seconds); at least one. */
  public static Timing of(double... seconds) {
    if (seconds.length == 0) throw new IllegalArgumentException("no timed calls to summarise");
    double[] x = seconds.clone();
    Arrays.sort(x);
    return new Timing(quantile(x, 0.5), quantile(x, 0.25), quantile(x, 0.75), x[0], x[x.length - 1], x.length);
  }

  /** The p-quantile (0 <= p <= 1) of ascending values, linear interpolation between order statistics. */
  public static double quantile(double[] sorted, double p) {
    if (sorted.length == 0) throw new IllegalArgumentException("quantile of no values");
    if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("quantile level " + p + " is outside 0..1");
    double h = (sorted.length - 1) * p;
    int lo = (int) Math.floor(h);
    int hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
  }

  /** Interquartile range q3 - q1: the spread that half of the calls fall within. */
  public double iqrSeconds() {
    return q3Seconds - q1Seconds;
  }

  /** IQR relative to the median: 0.05 = the middle half of the calls lie within 5% of the median's size. */
  public double relativeSpread() {
    return medianSeconds > 0 ? iqrSeconds() / medianSeconds : 0;
  }
}
