package dev.mha2mla.mla;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Latent sizes per layer under a cache budget: the ranks r_l with sum_l r_l = total that minimise the predicted
 * error summed over layers,
 *
 * <pre>
 *   E(r_1..r_L) = sum_l e_l(r_l),   e_l(r) = sum_{i >= r} s_{l,i}^2 / sum_i s_{l,i}^2
 * </pre>
 *
 * where s_l are the singular values of the matrix layer l truncates (W L for whitened conversion, so e_l(r) is the
 * share of the K/V outputs' energy on the calibration audio that rank r loses; W alone for plain SVD). Adding rank
 * r + 1 to layer l lowers E by g_l(r) = s_{l,r}^2 / sum_i s_{l,i}^2, and g_l falls with r (singular values are
 * sorted), so E is a sum of convex functions and taking the largest gain each time (greedy) is optimal.
 */
public final class RankAllocation {
  private RankAllocation() {}

  /** One layer's rank, the error it predicts, and the gain of the first rank it was not given (why it stopped). */
  public record LayerRank(int rank, double predictedError, double nextGain) {}

  /**
   * @param singularValues per layer, sorted descending (any length >= maxRank)
   * @param total sum of the ranks, in [L * minRank, L * maxRank]
   */
  public static List<LayerRank> allocate(List<double[]> singularValues, long total, int minRank, int maxRank) {
    int layers = singularValues.size();
    if (layers == 0) throw new IllegalArgumentException("no layers to allocate ranks to");
    if (minRank < 1 || maxRank < minRank) throw new IllegalArgumentException("ranks must lie in 1..max, got " + minRank + ".." + maxRank);
    if (total < (long) layers * minRank || total > (long) layers * maxRank) {
      throw new IllegalArgumentException("a cache of " + total + " latent floats per frame cannot be split over " + layers
          + " layers of " + minRank + ".." + maxRank + " each");
    }
    double[][] share = new double[layers][];
    for (int l = 0; l < layers; l++) share[l] = energyShares(singularValues.get(l), maxRank, l);
    int[] rank = new int[layers];
    PriorityQueue<int[]> next = new PriorityQueue<>((a, b) -> {
      int c = Double.compare(share[b[0]][rank[b[0]]], share[a[0]][rank[a[0]]]);
      return c != 0 ? c : Integer.compare(a[0], b[0]);  // equal gains: the lower layer first, so runs repeat
    });
    for (int l = 0; l < layers; l++) {
      rank[l] = minRank;
      if (rank[l] < maxRank) next.add(new int[] {l});
    }
    for (long given = (long) layers * minRank; given < total; given++) {
      int l = next.poll()[0];
      rank[l]++;
      if (rank[l] < maxRank) next.add(new int[] {l});
    }
    List<LayerRank> out = new ArrayList<>();
    for (int l = 0; l < layers; l++) {
      double lost = 0;
      for (int i = rank[l]; i < share[l].length; i++) lost += share[l][i];
      out.add(new LayerRank(rank[l], lost, rank[l] < share[l].length ? share[l][rank[l]] : 0));
    }
    return List.copyOf(out);
  }

  // s_i^2 / sum s^2 for every singular value (at least maxRank of them).
  private static double[] energyShares(double[] s, int maxRank, int layer) {
    if (s.length < maxRank) {
      throw new IllegalArgumentException("layer " + layer + " has " + s.length + " singular values, fewer than rank " + maxRank);
    }
    double sum = 0;
    for (double v : s) sum += v * v;
    double[] out = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      if (i > 0 && s[i] > s[i - 1]) throw new IllegalArgumentException("layer " + layer + ": singular values not sorted");
      out[i] = sum > 0 ? s[i] * s[i] / sum : 0;
    }
    return out;
  }
}
