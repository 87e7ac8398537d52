package dev.mha2mla.model;

import dev.mha2mla.kernels.FusedAttention;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Tensor;

/** Who computes attention in inference: the native fused kernels or LibTorch operations. */
public enum AttentionBackend {
  /** The fused kernels of native/ and kernels/ (no T x T buffer); inference only. */
  NATIVE,
  /** LibTorch operations, the HuggingFace way (materialised scores); differentiable. */
  TORCH;

  /** NATIVE where the kernels loaded, else TORCH. */
  public static AttentionBackend defaultBackend() {
    return FusedAttention.available() ? NATIVE : TORCH;
  }

  /**
   * Whether this call may use the kernels: NATIVE chosen, kernels loaded, autograd off (the kernels have no
   * backward, so any call that could record a graph goes through LibTorch), and the input on the CPU or on a
   * GPU the kernels were compiled for.
   */
  public boolean runsNative(Tensor x) {
    if (this != NATIVE || !FusedAttention.available()) return false;
    if (GradMode.is_enabled()) return false;
    return !x.is_cuda() || FusedAttention.cudaUsable();
  }
}
