package dev.mha2mla.mla;

import static org.assertj.core.api.Assertions.assertThat;
import dev.mha2mla.model.LatentAttention;

import dev.mha2mla.model.Linear;
import dev.mha2mla.model.PaddingMask;
import dev.mha2mla.model.RelativePositionalEmbedding;
import dev.mha2mla.kernels.TorchTensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The absorbed form (attention over the latent) equals the expanded form (K/V rebuilt) on random weights. */
class LatentAttentionFormsTest {
  private static Tensor randn(long... shape) {
    return torch.randn(shape).mul(new org.bytedeco.pytorch.Scalar(0.3));
  }

  @ParameterizedTest
  @CsvSource({"64, 4, 16, 37", "64, 4, 64, 1", "96, 6, 40, 23", "32, 2, 8, 60"})
  void expandedAndAbsorbedAgreeWithPadding(int d, int heads, int r, int frames) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(d * 1000L + r + frames);
      int dh = d / heads;
      LatentAttention attention = new LatentAttention(new Linear(randn(d, d), randn(d)), new Linear(randn(r, d), null),
          new Linear(randn(d, r), randn(d)), new Linear(randn(d, r), randn(d)), new Linear(randn(d, d), randn(d)),
          new Linear(randn(d, d), null), randn(heads, dh), randn(heads, dh), heads);
      Tensor x = randn(3, frames, d);
      long[] lengths = {frames, Math.max(1, frames / 2), 1};
      PaddingMask mask = PaddingMask.of(lengths, frames, null);
      Tensor relPos = RelativePositionalEmbedding.table(frames, d);
      attention.setForm(LatentAttention.Form.EXPANDED);
      float[] expanded = TorchTensors.toFloats(attention.forward(x, relPos, mask));
      attention.setForm(LatentAttention.Form.ABSORBED);
      float[] absorbed = TorchTensors.toFloats(attention.forward(x, relPos, mask));
      assertThat(MlaConverterTest.maxAbsDiff(expanded, absorbed)).isLessThan(1e-4);
      assertThat(attention.cacheFloatsPerFrame()).isEqualTo(r);
    }
  }
}
