package dev.mha2mla.data.synth;

import java.util.ArrayList;
import java.util.List;

/** Fractions of the corpus's sentences that go to train, validation and test. */
public record Splits(double train, double validation, double test) {
  public static final List<String> NAMES = List.of("train", "validation", "test");

  public Splits {
    for (double f : new double[] {train, validation, test}) {
      if (!(f >= 0 && f <= 1)) throw new IllegalArgumentException("split fractions must lie in [0, 1], got " + f);
    }
    if (Math.abs(train + validation + test - 1) > 1e-6) {
      throw new IllegalArgumentException("split fractions must add up to 1, got " + (train + validation + test));
    }
  }

  /** Parses {@code "0.8,0.1,0.1"} (train, validation, test). */
  public static Splits parse(String text) {
    String[] parts = text.split(",");
    if (parts.length != 3) {
      throw new IllegalArgumentException("--splits takes three fractions train,validation,test such as 0.8,0.1,0.1; got '" + text + "'");
    }
    try {
      return new Splits(Double.parseDouble(parts[0].strip()), Double.parseDouble(parts[1].strip()),
          Double.parseDouble(parts[2].strip()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--splits: '" + text + "' is not three numbers");
    }
  }

  public double[] fractions() {
    return new double[] {train, validation, test};
  }

  /**
   * Sentence counts per split that add up to {@code total}: floor(total * fraction) each, the rest by
   * largest remainder (ties to the earlier split); then, if a split with a positive fraction got none
   * and there are enough sentences, it takes one from the largest split. So 1000 sentences at
   * 0.8/0.1/0.1 give 800/100/100, and 6 give 4/1/1 rather than leave the test split empty.
   */
  public int[] allocate(int total) {
    double[] f = fractions();
    int[] counts = new int[3];
    double[] remainder = new double[3];
    int left = total;
    for (int i = 0; i < 3; i++) {
      double share = total * f[i];
      counts[i] = (int) Math.floor(share + 1e-9);
      remainder[i] = share - counts[i];
      left -= counts[i];
    }
    List<Integer> order = new ArrayList<>(List.of(0, 1, 2));
    order.sort((a, b) -> Double.compare(remainder[b], remainder[a]));
    for (int k = 0; left > 0; k++, left--) counts[order.get(k % 3)]++;
    for (int i = 0; i < 3; i++) {
      if (f[i] > 0 && counts[i] == 0) {
        int largest = counts[0] >= counts[1] && counts[0] >= counts[2] ? 0 : counts[1] >= counts[2] ? 1 : 2;
        if (counts[largest] > 1) {
          counts[largest]--;
          counts[i]++;
        }
      }
    }
    return counts;
  }

  @Override
  public String toString() {
    return train + "," + validation + "," + test;
  }
}
