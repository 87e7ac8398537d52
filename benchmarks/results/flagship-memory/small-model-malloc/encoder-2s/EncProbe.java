package dev.mha2mla.model;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * The feature encoder of a model folder on S seconds of noise: the whole encoder (median of 21 passes), then each
 * layer's convolution, layer norm and GELU timed apart (mean of 20 passes). In package dev.mha2mla.model for
 * FeatureEncoder.convolve. Usage: EncProbe MODEL SECONDS THREADS
 */
public class EncProbe {
  public static void main(String[] a) throws Exception {
    CpuThreads.configure(Integer.parseInt(a[2]));
    int samples = (int) Math.round(Double.parseDouble(a[1]) * 16000);
    try (ConformerCtcModel m = ConformerCtcModel.load(Path.of(a[0])); NoGradGuard g = new NoGradGuard()) {
      Map<String, Tensor> w = m.weights();
      ConformerConfig c = m.config();
      Tensor x0 = torch.randn(samples, 1).mul_(new Scalar(0.1));
      int L = c.convDim().size();
      double[][] t = new double[L][3];
      int reps = 21;
      double[] whole = new double[reps];
      for (int r = 0; r < reps; r++) {
        try (PointerScope s = new PointerScope()) {
          long w0 = System.nanoTime();
          m.featureEncoder().forward(x0.t());
          whole[r] = (System.nanoTime() - w0) / 1e6;
        }
        try (PointerScope s = new PointerScope()) {
          Tensor x = x0;
          for (int i = 0; i < L; i++) {
            String p = "wav2vec2_conformer.feature_extractor.conv_layers." + i;
            long t0 = System.nanoTime();
            Tensor b = w.get(p + ".conv.bias");
            Tensor y = FeatureEncoder.convolve(x, w.get(p + ".conv.weight"), b, c.convStride().get(i));
            long t1 = System.nanoTime();
            y = torch.layer_norm(y, new long[] {y.size(1)}, new TensorOptional(w.get(p + ".layer_norm.weight")),
                new TensorOptional(w.get(p + ".layer_norm.bias")), 1e-5, false);
            long t2 = System.nanoTime();
            y = torch.gelu(y);
            long t3 = System.nanoTime();
            if (r > 0) { t[i][0] += (t1 - t0) / 1e6; t[i][1] += (t2 - t1) / 1e6; t[i][2] += (t3 - t2) / 1e6; }
            x = y;
          }
        }
      }
      Arrays.sort(whole);
      System.out.printf("whole encoder median %.2f ms%n", whole[reps / 2]);
      for (int i = 0; i < L; i++) System.out.printf("layer %d: conv %.3f  ln %.3f  gelu %.3f ms (mean)%n", i, t[i][0] / (reps - 1), t[i][1] / (reps - 1), t[i][2] / (reps - 1));
    }
  }
}
