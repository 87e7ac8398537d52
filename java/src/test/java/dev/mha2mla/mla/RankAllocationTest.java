package dev.mha2mla.mla;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RankAllocationTest {
  /** Predicted loss of ranks r: sum over layers of sum_{i >= r_l} s_i^2 / sum s^2, computed directly. */
  private static double loss(List<double[]> s, int[] r) {
    double total = 0;
    for (int l = 0; l < s.size(); l++) {
      double all = 0, tail = 0;
      for (int i = 0; i < s.get(l).length; i++) {
        all += s.get(l)[i] * s.get(l)[i];
        if (i >= r[l]) tail += s.get(l)[i] * s.get(l)[i];
      }
      total += tail / all;
    }
    return total;
  }

  /** The least loss over every assignment of ranks in [min, max] summing to total (exhaustive). */
  private static double bruteForce(List<double[]> s, int total, int min, int max, int[] r, int layer) {
    if (layer == s.size()) return java.util.Arrays.stream(r).sum() == total ? loss(s, r) : Double.POSITIVE_INFINITY;
    double best = Double.POSITIVE_INFINITY;
    for (int k = min; k <= max; k++) {
      r[layer] = k;
      best = Math.min(best, bruteForce(s, total, min, max, r, layer + 1));
    }
    return best;
  }

  @Test
  void aHandCaseGivesEachRankToTheLayerThatLosesMost() {
    // layer 0 keeps 9 + 4 + 1 (shares .64, .29, .07), layer 1 4 + 4 + 4 + 4 (.25 each); from one rank each, three more:
    // .29 (layer 0), then .25, .25 (layer 1): ranks 2 and 3, loss .07 + .25
    List<double[]> s = List.of(new double[] {3, 2, 1}, new double[] {2, 2, 2, 2});
    List<RankAllocation.LayerRank> r = RankAllocation.allocate(s, 5, 1, 3);
    assertThat(r).extracting(RankAllocation.LayerRank::rank).containsExactly(2, 3);
    assertThat(r.get(0).predictedError()).isCloseTo(1.0 / 14, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(r.get(1).predictedError()).isCloseTo(0.25, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(r.get(0).nextGain()).isCloseTo(1.0 / 14, org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void greedyEqualsTheExhaustiveOptimumOnRandomSpectra() {
    Random random = new Random(5);
    for (int trial = 0; trial < 40; trial++) {
      int layers = 2 + random.nextInt(3), width = 6;
      List<double[]> s = new java.util.ArrayList<>();
      for (int l = 0; l < layers; l++) {
        double[] v = new double[width];
        for (int i = 0; i < width; i++) v[i] = Math.exp(-random.nextDouble() * 3 * i) * (1 + random.nextDouble());
        java.util.Arrays.sort(v);
        for (int i = 0; i < width / 2; i++) { double t = v[i]; v[i] = v[width - 1 - i]; v[width - 1 - i] = t; }
        s.add(v);
      }
      int total = layers + random.nextInt(layers * (width - 1) + 1);
      int[] ranks = RankAllocation.allocate(s, total, 1, width).stream().mapToInt(RankAllocation.LayerRank::rank).toArray();
      assertThat(java.util.Arrays.stream(ranks).sum()).isEqualTo(total);
      assertThat(loss(s, ranks)).as("trial %d", trial)
          .isCloseTo(bruteForce(s, total, 1, width, new int[layers], 0), org.assertj.core.data.Offset.offset(1e-12));
    }
  }

  @Test
  void impossibleBudgetsAreRefused() {
    List<double[]> s = List.of(new double[] {2, 1}, new double[] {2, 1});
    assertThatThrownBy(() -> RankAllocation.allocate(s, 1, 1, 2)).hasMessageContaining("cannot be split over 2 layers");
    assertThatThrownBy(() -> RankAllocation.allocate(s, 5, 1, 2)).hasMessageContaining("cannot be split");
    assertThatThrownBy(() -> RankAllocation.allocate(List.of(new double[] {1, 2}), 1, 1, 2)).hasMessageContaining("not sorted");
  }
}
