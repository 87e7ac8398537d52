package dev.mha2mla.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.model.PaddingMask;
import dev.mha2mla.model.RelativeAttention;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The native CPU kernels against the HuggingFace-style LibTorch reference (materialised scores and the
 * relative shift, {@link RelativeAttention#attend}), on random inputs with odd lengths and padding; in bfloat16
 * and float16 against the float32 kernels on the same 16-bit values.
 */
class FusedAttentionTest {
  private static Tensor randn(long... shape) {
    return torch.randn(shape).mul(new Scalar(0.5));
  }

  private static double maxAbsDiff(Tensor a, Tensor b) {
    return a.sub(b).abs().max().item_double();
  }

  @ParameterizedTest(name = "B={0} H={1} T={2} dh={3}")
  @CsvSource({"1, 1, 1, 8", "2, 4, 7, 16", "3, 4, 64, 16", "2, 3, 129, 24", "1, 16, 250, 64", "2, 2, 600, 32"})
  void relposKernelMatchesTheReference(int b, int h, int t, int dh) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(31L * t + h);
      Tensor q = randn(b, h, t, dh), k = randn(b, h, t, dh), v = randn(b, h, t, dh);
      Tensor p = randn(2L * t - 1, (long) h * dh), u = randn(h, dh), w = randn(h, dh);
      long[] lengths = new long[b];
      for (int i = 0; i < b; i++) lengths[i] = Math.max(1, t - i * (t / 3 + 1));   // row 0 full, others padded
      PaddingMask mask = PaddingMask.of(lengths, t, null);
      Tensor reference = RelativeAttention.attend(q, k, v, p, u, w, mask);
      Tensor fused = RelativeAttention.mergeHeads(RelativeAttention.fused(q, k, v, p, u, w, mask));
      assertThat(maxAbsDiff(fused, reference)).isLessThan(1e-4);
    }
  }

  @ParameterizedTest(name = "B={0} H={1} T={2} r={3}")
  @CsvSource({"1, 1, 1, 4", "2, 4, 37, 16", "1, 16, 100, 512", "3, 4, 333, 64", "1, 2, 600, 128"})
  void latentKernelMatchesTheReference(int b, int h, int t, int r) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(17L * t + r);
      int dh = 16;
      Tensor qa = randn(b, h, t, r).mul(new Scalar(0.2)), c = randn(b, t, r), qw = randn(b, h, t, dh);
      Tensor p = randn(2L * t - 1, (long) h * dh);
      long[] lengths = new long[b];
      for (int i = 0; i < b; i++) lengths[i] = Math.max(1, t - 2 * i - i * t / 4);
      PaddingMask mask = PaddingMask.of(lengths, t, null);
      // reference: scores = (qa c^T + shift((q + w) p^T)) / sqrt(dh) + mask; z = softmax(scores) c
      Tensor ph = p.view(1, 2L * t - 1, h, dh).permute(0, 2, 3, 1);
      Tensor scores = torch.matmul(qa, c.unsqueeze(1).transpose(-2, -1))
          .add(RelativeAttention.relativeShift(torch.matmul(qw, ph))).div(new Scalar(Math.sqrt(dh))).add(mask.additive());
      Tensor reference = torch.matmul(torch.softmax(scores, -1), c.unsqueeze(1));
      Tensor fused = FusedAttention.latentAttention(qa, c, qw, p, lengths, t - 1, 0, 1.0 / Math.sqrt(dh));
      assertThat(maxAbsDiff(fused, reference)).isLessThan(1e-4);
    }
  }

  /**
   * In 16 bits the kernel computes in float32 and rounds once: its output is the float32 output of the same
   * (16-bit) inputs, rounded to the nearest 16-bit value, which is what LibTorch's own conversion gives.
   */
  private static void assertIsTheFloat32ResultRounded(Tensor out16, Tensor out32, ScalarType type) {
    assertThat(TorchTensors.isType(out16, type)).isTrue();
    // Rounding to nearest moves a value by at most half an ulp: 2^-8 of it in bfloat16 (8 significant bits), 2^-11
    // in float16 (11), or half the smallest float16 subnormal, 2^-25, below the normal range.
    double halfUlp = type == ScalarType.BFloat16 ? 0x1p-8 : 0x1p-11;
    Tensor bound = out32.abs().mul(new Scalar(halfUlp)).add(new Scalar(0x1p-25));
    assertThat(out16.to(ScalarType.Float).sub(out32).abs().le(bound).all().item_bool()).isTrue();
    assertThat(out16.equal(out32.to(type))).isTrue();
  }

  @ParameterizedTest(name = "{0} B={1} H={2} T={3} dh={4}")
  @CsvSource({"BFloat16, 2, 4, 37, 16", "Half, 2, 4, 37, 16", "BFloat16, 1, 16, 250, 64", "Half, 3, 2, 129, 24"})
  void relposKernelIn16BitsRoundsTheFloat32Result(String dtype, int b, int h, int t, int dh) {
    ScalarType type = ScalarType.valueOf(dtype);
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(13L * t + dh);
      Tensor q = randn(b, h, t, dh).to(type), k = randn(b, h, t, dh).to(type), v = randn(b, h, t, dh).to(type);
      Tensor p = randn(2L * t - 1, (long) h * dh).to(type), u = randn(h, dh).to(type), w = randn(h, dh).to(type);
      long[] lengths = new long[b];
      for (int i = 0; i < b; i++) lengths[i] = Math.max(1, t - 5 * i);
      double scale = 1.0 / Math.sqrt(dh);
      Tensor out16 = FusedAttention.relposAttention(q, k, v, p, u, w, lengths, t - 1, 0, scale);
      Tensor out32 = FusedAttention.relposAttention(q.to(ScalarType.Float), k.to(ScalarType.Float),
          v.to(ScalarType.Float), p.to(ScalarType.Float), u.to(ScalarType.Float), w.to(ScalarType.Float), lengths,
          t - 1, 0, scale);
      assertIsTheFloat32ResultRounded(out16, out32, type);
    }
  }

  @ParameterizedTest(name = "{0} B={1} H={2} Tq={3} Tk={4} r={5}")
  @CsvSource({"BFloat16, 2, 4, 37, 37, 16", "Half, 1, 16, 1, 300, 512", "BFloat16, 1, 8, 4, 200, 128",
      "Half, 3, 2, 65, 65, 72"})
  void latentKernelIn16BitsRoundsTheFloat32Result(String dtype, int b, int h, int tq, int tk, int r) {
    ScalarType type = ScalarType.valueOf(dtype);
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(7L * tk + r);
      int dh = 16, qOffset = tk - tq;
      Tensor qa = randn(b, h, tq, r).mul(new Scalar(0.2)).to(type), c = randn(b, tk, r).to(type);
      Tensor qw = randn(b, h, tq, dh).to(type), p = randn((long) tq + tk - 1, (long) h * dh).to(type);
      double scale = 1.0 / Math.sqrt(dh);
      Tensor out16 = FusedAttention.latentAttention(qa, c, qw, p, null, tk - 1, qOffset, scale);
      Tensor out32 = FusedAttention.latentAttention(qa.to(ScalarType.Float), c.to(ScalarType.Float),
          qw.to(ScalarType.Float), p.to(ScalarType.Float), null, tk - 1, qOffset, scale);
      assertIsTheFloat32ResultRounded(out16, out32, type);
    }
  }

  @Test
  void mixedDtypesAreRejectedNamingThem() {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor q = randn(1, 2, 4, 8).to(ScalarType.BFloat16), k = randn(1, 2, 4, 8);
      Tensor p = randn(7, 16).to(ScalarType.BFloat16), u = randn(2, 8).to(ScalarType.BFloat16);
      assertThatThrownBy(() -> FusedAttention.relposAttention(q, k, q, p, u, u, null, 3, 0, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q is bfloat16, k is float32");
      Tensor qa = randn(1, 2, 4, 8).to(ScalarType.Half), c = randn(1, 4, 8).to(ScalarType.Half);
      assertThatThrownBy(() -> FusedAttention.latentAttention(qa, c, qa, randn(7, 16), null, 3, 0, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("qa is float16, p is float32");
    }
  }

  @Test
  void chunkOverACacheUsesAbsolutePositions() {
    // 5 new query frames at positions 20..24 over 25 keys must equal the last 5 rows of the full 25-frame attention
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(5);
      int h = 2, dh = 8, t = 25, chunk = 5;
      Tensor q = randn(1, h, t, dh), k = randn(1, h, t, dh), v = randn(1, h, t, dh);
      Tensor p = randn(2L * t - 1, (long) h * dh), u = randn(h, dh), w = randn(h, dh);
      Tensor full = FusedAttention.relposAttention(q, k, v, p, u, w, null, t - 1, 0, 0.3);
      Tensor tail = FusedAttention.relposAttention(q.narrow(2, t - chunk, chunk), k, v, p, u, w, null, t - 1, t - chunk, 0.3);
      assertThat(maxAbsDiff(tail, full.narrow(2, t - chunk, chunk))).isLessThan(1e-5);
    }
  }

  @Test
  void badArgumentsAreErrorsNotCrashes() {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor q = randn(1, 2, 4, 8);
      Tensor p = randn(7, 16), u = randn(2, 8);
      assertThatThrownBy(() -> FusedAttention.relposAttention(q, randn(1, 2, 5, 8), q, p, u, u, null, 3, 0, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has shape [1, 2, 4, 8], expected [1, 2, 5, 8]");
      assertThatThrownBy(() -> FusedAttention.relposAttention(q, q, q, p, u, u, new long[] {9}, 3, 0, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside 1..4");
      // a zero row that leaves the table: the kernel itself refuses it
      assertThatThrownBy(() -> FusedAttention.relposAttention(q, q, q, p, u, u, null, 0, 0, 1))
          .isInstanceOf(KernelException.class).hasMessageContaining("mla_relpos_attention");
      assertThatThrownBy(() -> FusedAttention.relposAttention(q.to(torch.ScalarType.Double), q, q, p, u, u, null, 3, 0, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q must be float32, bfloat16 or float16, got float64");
    }
  }

  @Test
  void latentPlanOnTheCpuIsOneSplitWithoutWorkspace() {
    int[] splits = {0};
    long[] bytes = {-1};
    assertThat(NativeKernels.mla_latent_attention_plan(NativeKernels.MLA_DEVICE_CPU, 1, 16, 1, 512, 1000, splits, bytes))
        .isEqualTo(NativeKernels.MLA_OK);
    assertThat(splits[0]).isEqualTo(1);
    assertThat(bytes[0]).isZero();
    splits[0] = -1;
    assertThat(NativeKernels.mla_latent_attention_plan(NativeKernels.MLA_DEVICE_CPU, 1, 16, 1, 512, 1000, splits, bytes))
        .isEqualTo(NativeKernels.MLA_ERR_INVALID_ARGUMENT);
  }

  @Test
  void reportsWhatItRunsOn() {
    assertThat(FusedAttention.available()).isTrue();
    assertThat(FusedAttention.cpuIsa()).isIn("avx512f", "avx2", "baseline");
    assertThat(TorchTensors.class).isNotNull();
  }
}
