package dev.mha2mla.mla;

import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.kernels.TorchTensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Second moments of every layer's attention input, C_l = E[x x^T] over all frames of the calibration
 * audio, accumulated in float64 as sum_t x_t x_t^T / frames.
 */
public final class CalibrationStatistics implements AutoCloseable {
  private final List<Tensor> sums = new ArrayList<>();
  private long frames;

  /** Runs the (MHA) model over normalised utterances, one at a time, and accumulates C for every layer. */
  public static CalibrationStatistics collect(ConformerCtcModel model, List<float[]> normalisedUtterances) {
    if (normalisedUtterances.isEmpty()) throw new IllegalArgumentException("the calibration set is empty");
    CalibrationStatistics stats = new CalibrationStatistics();
    int layers = model.config().numHiddenLayers();
    long d = model.config().hiddenSize();
    for (int l = 0; l < layers; l++) {
      stats.sums.add(TorchTensors.keep(torch.zeros(new long[] {d, d}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Double))));
    }
    for (float[] u : normalisedUtterances) {
      try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        Tensor input = TorchTensors.floats(u, 1, u.length);
        long[] count = {0};
        model.forward(input, null, (name, t) -> {
          if (name.startsWith("attn_input")) {
            int layer = Integer.parseInt(name.substring("attn_input".length()));
            Tensor x = t.reshape(-1, d).cpu().to(ScalarType.Double);
            stats.sums.get(layer).add_(torch.matmul(x.t(), x));
            count[0] = x.size(0);
          }
        });
        stats.frames += count[0];
      }
    }
    return stats;
  }

  /** C_l as a new float64 tensor. */
  public Tensor covariance(int layer) {
    return sums.get(layer).div(new org.bytedeco.pytorch.Scalar((double) frames));
  }

  public long frames() {
    return frames;
  }

  @Override
  public void close() {
    for (Tensor t : sums) t.close();
  }
}
