package dev.mha2mla.model;

import dev.mha2mla.kernels.FusedAttention;
import org.bytedeco.pytorch.Tensor;

/** Who computes attention in inference: the native fused kernels or LibTorch operations. */
public enum AttentionBackend {
  /** The fused kernels of native/ and kernels/ (no T x T buffer); inference only. */
  NATIVE,
  /** LibTorch operations, the HuggingFace way (materialised scores); differentiable. */
  TORCH;

  public static AttentionBackend parse(String s) {
    return switch (s) {
      case "native" -> NATIVE;
      case "torch" -> TORCH;
      default -> throw new IllegalArgumentException("--attention must be native or torch, got '" + s + "'");
    };
  }

  /** NATIVE where the kernels loaded, else TORCH. */
  public static AttentionBackend defaultBackend() {
    return FusedAttention.available() ? NATIVE : TORCH;
  }

  /**
   * Whether this call may use the kernels: NATIVE chosen, kernels loaded, no gradient wanted (the kernels have
   * no backward), and the tensor on the CPU or on a GPU the kernels were compiled for.
   */
  public boolean runsNative(Tensor x, Tensor weight) {
    if (this != NATIVE || !FusedAttention.available()) return false;
    if (x.requires_grad() || weight.requires_grad()) return false;
    return !x.is_cuda() || FusedAttention.cudaUsable();
  }
}
