package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.mha2mla.kernels.TorchTensors;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** The CTC loss against a brute-force sum over every alignment, with HF's reductions and blank id. */
class CtcLossTest {
  /** -log sum over all frame paths that collapse (merge repeats, drop blanks) to the labels. */
  private static double bruteForce(double[][] logProbs, int frames, long[] labels, int blank) {
    int v = logProbs[0].length;
    double total = 0;
    int[] path = new int[frames];
    for (long code = 0; code < Math.pow(v, frames); code++) {
      long c = code;
      double logP = 0;
      for (int t = 0; t < frames; t++) {
        path[t] = (int) (c % v);
        c /= v;
        logP += logProbs[t][path[t]];
      }
      List<Long> collapsed = new ArrayList<>();
      for (int t = 0; t < frames; t++) {
        if (path[t] != blank && (t == 0 || path[t] != path[t - 1])) collapsed.add((long) path[t]);
      }
      if (collapsed.equals(java.util.Arrays.stream(labels).boxed().toList())) total += Math.exp(logP);
    }
    return -Math.log(total);
  }

  @Test
  void matchesTheSumOverAlignmentsWithBothReductions() {
    int batch = 2;
    int frames = 5;
    int vocab = 4;
    int blank = 2; // not 0: the blank is the config's pad id
    float[] logits = new float[batch * frames * vocab];
    SplittableRandom r = new SplittableRandom(3);
    for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian();
    List<long[]> labels = List.of(new long[] {1, 1, 3}, new long[] {0});
    long[] lengths = {5, 4};
    try (PointerScope scope = new PointerScope()) {
      Tensor x = TorchTensors.floats(logits, batch, frames, vocab);
      CtcLoss sum = new CtcLoss(blank, false, false);
      float[] nll = TorchTensors.toFloats(sum.perUtterance(x, lengths, labels));
      double[] expected = new double[batch];
      for (int b = 0; b < batch; b++) {
        double[][] lp = new double[frames][vocab];
        for (int t = 0; t < frames; t++) {
          double max = Double.NEGATIVE_INFINITY;
          for (int k = 0; k < vocab; k++) max = Math.max(max, logits[(b * frames + t) * vocab + k]);
          double z = 0;
          for (int k = 0; k < vocab; k++) z += Math.exp(logits[(b * frames + t) * vocab + k] - max);
          for (int k = 0; k < vocab; k++) lp[t][k] = logits[(b * frames + t) * vocab + k] - max - Math.log(z);
        }
        expected[b] = bruteForce(lp, (int) lengths[b], labels.get(b), blank);
        assertThat((double) nll[b]).as("row %d", b).isCloseTo(expected[b], within(1e-4));
      }
      assertThat(sum.reduce(sum.perUtterance(x, lengths, labels), labels).item_double())
          .isCloseTo(expected[0] + expected[1], within(2e-4));
      CtcLoss mean = new CtcLoss(blank, true, false);
      assertThat(mean.reduce(mean.perUtterance(x, lengths, labels), labels).item_double())
          .isCloseTo((expected[0] / 3 + expected[1] / 1) / 2, within(1e-4));
    }
  }

  @Test
  void impossibleAlignmentsAreInfiniteUnlessZeroInfinity() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = TorchTensors.floats(new float[3 * 4], 1, 3, 4);
      List<long[]> labels = List.<long[]>of(new long[] {1, 1, 1}); // needs 5 frames, has 3
      assertThat(new CtcLoss(0, false, false).perUtterance(x, new long[] {3}, labels).item_double()).isInfinite();
      assertThat(new CtcLoss(0, false, true).perUtterance(x, new long[] {3}, labels).item_double()).isZero();
      assertThat(CtcLabels.minimumFrames(new long[] {1, 1, 1})).isEqualTo(5);
    }
  }
}
