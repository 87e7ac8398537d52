package dev.mha2mla.benchmarks.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** The benchmarks compare like with like: every variant of a workload computes the same function. */
class WorkloadsTest {
  private static double maxAbsDiff(Tensor a, Tensor b) {
    return a.sub(b).abs().max().item_double();
  }

  @Test
  void theFourAttentionVariantsAgreePairwise() {
    try (AttentionWorkload w = AttentionWorkload.create(AttentionShape.SMALL, 2, 37, 3);
        PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor torchMath = w.run(AttentionWorkload.Variant.MHA_TORCH);
      Tensor fused = w.run(AttentionWorkload.Variant.MHA_FUSED);
      Tensor expanded = w.run(AttentionWorkload.Variant.MLA_EXPANDED);
      Tensor absorbed = w.run(AttentionWorkload.Variant.MLA_ABSORBED);
      assertThat(torchMath.shape()).containsExactly(2, 37, AttentionShape.SMALL.hidden());
      assertThat(maxAbsDiff(torchMath, fused)).isLessThan(1e-4);
      assertThat(maxAbsDiff(expanded, absorbed)).isLessThan(1e-4);
      assertThat(w.block(AttentionWorkload.Variant.MHA_FUSED).cacheFloatsPerFrame()).isEqualTo(2 * AttentionShape.SMALL.hidden());
      assertThat(w.block(AttentionWorkload.Variant.MLA_ABSORBED).cacheFloatsPerFrame()).isEqualTo(AttentionShape.SMALL.latent());
    }
  }

  @Test
  void theKernelCasesAgreeWithTheReference() {
    try (AttentionKernelWorkload hf = AttentionKernelWorkload.create(AttentionShape.SMALL, AttentionKernelWorkload.Kernel.HF_MATH, 2, 50, 9);
        AttentionKernelWorkload fused = AttentionKernelWorkload.create(AttentionShape.SMALL, AttentionKernelWorkload.Kernel.RELPOS, 2, 50, 9);
        AttentionKernelWorkload latent = AttentionKernelWorkload.create(AttentionShape.SMALL, AttentionKernelWorkload.Kernel.LATENT, 2, 50, 9);
        PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      // same seed, same q, k, v, p, u, w: HF math returns heads merged, the kernel heads apart
      Tensor reference = hf.run();
      Tensor kernel = dev.mha2mla.model.RelativeAttention.mergeHeads(fused.run());
      assertThat(maxAbsDiff(reference, kernel)).isLessThan(1e-4);
      assertThat(latent.run().shape()).containsExactly(2, 4, 50, AttentionShape.SMALL.latent());
    }
  }

  @Test
  void everyCacheDesignStepsAChunk() {
    for (CacheDesign d : CacheDesign.values()) {
      try (StreamingWorkload w = StreamingWorkload.create(AttentionShape.SMALL, d, 2, 30, 4, 5);
          PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        assertThat(w.step().shape()).as(d.id()).containsExactly(2, 4, AttentionShape.SMALL.hidden());
        if (d != CacheDesign.INPUT_CACHE) assertThat(w.attend().size(2)).isEqualTo(4);
      }
    }
    try (StreamingWorkload w = StreamingWorkload.create(AttentionShape.SMALL, CacheDesign.INPUT_CACHE, 1, 10, 1, 5)) {
      assertThatThrownBy(w::attend).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("step()");
    }
  }

  @Test
  void theLatentCacheStepEqualsTheExpandedForm() {
    // absorbed queries over the latent == K and V rebuilt from the latent, for a batch and a chunk of several frames
    try (StreamingWorkload w = StreamingWorkload.create(AttentionShape.SMALL, CacheDesign.LATENT_CACHE, 3, 25, 4, 8);
        PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor absorbed = w.step();
      assertThat(maxAbsDiff(absorbed, w.expandedReference())).isLessThan(1e-4);
    }
  }

  @Test
  void theKvCacheStepEqualsTheLastRowsOfFullAttention() {
    // chunk over a cache == the chunk's rows of full-utterance attention, when the cache holds the earlier frames' K/V:
    // checked through the kernel the step calls (qOffset = cache, zero row = cache + chunk - 1)
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      org.bytedeco.pytorch.global.torch.manual_seed(1);
      int h = 4, dh = 16, cache = 20, chunk = 3, t = cache + chunk;
      Tensor q = org.bytedeco.pytorch.global.torch.randn(1, h, t, dh), k = org.bytedeco.pytorch.global.torch.randn(1, h, t, dh);
      Tensor v = org.bytedeco.pytorch.global.torch.randn(1, h, t, dh);
      Tensor p = org.bytedeco.pytorch.global.torch.randn(2L * t - 1, (long) h * dh);
      Tensor u = org.bytedeco.pytorch.global.torch.randn(h, dh), w = org.bytedeco.pytorch.global.torch.randn(h, dh);
      Tensor full = dev.mha2mla.kernels.FusedAttention.relposAttention(q, k, v, p, u, w, null, t - 1, 0, 0.25);
      Tensor tail = dev.mha2mla.kernels.FusedAttention.relposAttention(q.narrow(2, cache, chunk), k, v, p, u, w, null, t - 1, cache, 0.25);
      assertThat(maxAbsDiff(tail, full.narrow(2, cache, chunk))).isLessThan(1e-5);
    }
  }
}
