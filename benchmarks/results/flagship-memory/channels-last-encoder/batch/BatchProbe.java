package dev.mha2mla.model;

import java.nio.file.Path;
import java.util.*;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;

/**
 * The feature encoder of a model folder on a batch of 8 x 4 s of noise, channels last (FeatureEncoder.forward, one
 * utterance at a time) against the conv1d form with transposed layer norms, alternating, medians of 10 after 2.
 * In package dev.mha2mla.model for FeatureEncoder.forward(Tensor). Usage: BatchProbe MODEL THREADS
 */
public class BatchProbe {
  public static void main(String[] a) throws Exception {
    CpuThreads.configure(Integer.parseInt(a[1]));
    try (ConformerCtcModel m = ConformerCtcModel.load(Path.of(a[0])); NoGradGuard g = new NoGradGuard()) {
      Map<String, Tensor> w = m.weights();
      ConformerConfig c = m.config();
      Tensor audio = torch.randn(8, 64000).mul_(new Scalar(0.1));
      List<Double> ours = new ArrayList<>(), ref = new ArrayList<>();
      for (int r = 0; r < 22; r++) {
        try (PointerScope s = new PointerScope()) {
          long t0 = System.nanoTime();
          if (r % 2 == 0) m.featureEncoder().forward(audio); else reference(c, w, audio);
          double ms = (System.nanoTime() - t0) / 1e6;
          if (r >= 2) (r % 2 == 0 ? ours : ref).add(ms);
        }
      }
      Collections.sort(ours); Collections.sort(ref);
      System.out.printf("%s, batch 8 x 4 s, %s thread(s): channels last %.1f ms, conv1d form %.1f ms (medians of 10)%n", a[0], a[1], ours.get(5), ref.get(5));
    }
  }
  static Tensor reference(ConformerConfig config, Map<String, Tensor> w, Tensor audio) {
    String P = "wav2vec2_conformer.feature_extractor.conv_layers.";
    Tensor x = audio.unsqueeze(1);
    for (int i = 0; i < config.convDim().size(); i++) {
      x = torch.conv1d(x, w.get(P + i + ".conv.weight"), new TensorOptional(w.get(P + i + ".conv.bias")), new long[] {config.convStride().get(i)}, new long[] {0}, new long[] {1}, 1);
      Tensor t = torch.layer_norm(x.transpose(-2, -1), new long[] {x.size(1)}, new TensorOptional(w.get(P + i + ".layer_norm.weight")), new TensorOptional(w.get(P + i + ".layer_norm.bias")), 1e-5, false);
      x = torch.gelu(t.transpose(-2, -1));
    }
    return x;
  }
}
