package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.mha2mla.io.RawTensor;
import dev.mha2mla.kernels.TorchTensors;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** AdamW against its formulas on scalars, clipping, and a state that round-trips exactly. */
class AdamWTest {
  private static Tensor parameter(float... values) {
    Tensor p = TorchTensors.keep(TorchTensors.floats(values, values.length));
    p.requires_grad_(true);
    return p;
  }

  /** loss = sum(c * p): gradient c. */
  private static void backward(Tensor p, float... c) {
    try (PointerScope scope = new PointerScope()) {
      p.mul(TorchTensors.floats(c, c.length)).sum().backward();
    }
  }

  @Test
  void twoStepsFollowTheAdamWFormulas() {
    Tensor p = parameter(1.0f, -2.0f);
    AdamW.Settings s = new AdamW.Settings(0.9, 0.999, 1e-8, 0.1);
    try (AdamW opt = new AdamW(Map.of("w", p), Set.of("w"), s)) {
      double[] w = {1.0, -2.0};
      double[] m = new double[2];
      double[] v = new double[2];
      double[][] grads = {{0.5, -3.0}, {-1.0, 2.0}};
      double lr = 0.01;
      for (int t = 1; t <= 2; t++) {
        backward(p, (float) grads[t - 1][0], (float) grads[t - 1][1]);
        opt.step(lr);
        opt.clearGradients();
        for (int i = 0; i < 2; i++) {
          double g = grads[t - 1][i];
          w[i] *= 1 - lr * s.weightDecay();
          m[i] = 0.9 * m[i] + 0.1 * g;
          v[i] = 0.999 * v[i] + 0.001 * g * g;
          double mHat = m[i] / (1 - Math.pow(0.9, t));
          double vHat = v[i] / (1 - Math.pow(0.999, t));
          w[i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
        }
      }
      float[] got = TorchTensors.toFloats(p);
      assertThat((double) got[0]).isCloseTo(w[0], within(1e-6));
      assertThat((double) got[1]).isCloseTo(w[1], within(1e-6));
      assertThat(opt.steps()).isEqualTo(2);
      assertThat(p.grad().defined()).isFalse();
    } finally {
      p.close();
    }
  }

  @Test
  void clipsTheGlobalNormAndReportsItBeforeClipping() {
    Tensor a = parameter(0f, 0f);
    Tensor b = parameter(0f);
    try (AdamW opt = new AdamW(Map.of("a", a, "b", b), Set.of(), AdamW.Settings.DEFAULT)) {
      backward(a, 3f, 0f);
      backward(b, 4f);
      assertThat(opt.clipGradientNorm(1.0)).isCloseTo(5.0, within(1e-6));
      double after = Math.hypot(TorchTensors.toFloats(a.grad())[0], TorchTensors.toFloats(b.grad())[0]);
      assertThat(after).isCloseTo(1.0, within(1e-5));
    } finally {
      a.close();
      b.close();
    }
  }

  @Test
  void stateRoundTripsSoThatTheNextStepIsBitIdentical() {
    Tensor p = parameter(0.3f, 0.7f);
    Tensor q = parameter(0.3f, 0.7f);
    try (AdamW one = new AdamW(Map.of("w", p), Set.of("w"), AdamW.Settings.DEFAULT);
        AdamW two = new AdamW(Map.of("w", q), Set.of("w"), AdamW.Settings.DEFAULT)) {
      backward(p, 1f, -1f);
      one.step(0.1);
      one.clearGradients();
      backward(q, 1f, -1f);
      two.step(0.1);
      two.clearGradients();
      Map<String, RawTensor> saved = one.state();
      try (AdamW restored = new AdamW(Map.of("w", p), Set.of("w"), AdamW.Settings.DEFAULT)) {
        restored.load(saved, "test");
        backward(p, 0.5f, 2f);
        restored.step(0.1);
        backward(q, 0.5f, 2f);
        two.step(0.1);
      }
      assertThat(TorchTensors.toRaw(p).data()).isEqualTo(TorchTensors.toRaw(q).data());
    } finally {
      p.close();
      q.close();
    }
  }

  @Test
  void decayFollowsHuggingFacesRule() {
    assertThat(AdamW.decays("wav2vec2_conformer.encoder.layers.0.self_attn.linear_q.weight")).isTrue();
    assertThat(AdamW.decays("wav2vec2_conformer.encoder.layers.0.self_attn.linear_q.bias")).isFalse();
    assertThat(AdamW.decays("wav2vec2_conformer.encoder.layers.0.self_attn.pos_bias_u")).isFalse();
    assertThat(AdamW.decays("wav2vec2_conformer.encoder.layer_norm.weight")).isFalse();
  }
}
