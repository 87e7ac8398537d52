package dev.mha2mla.model;

import org.bytedeco.pytorch.Tensor;

/** The self-attention block of a conformer layer: multi-head (the checkpoint's) or latent (converted). */
public interface SelfAttention extends HasWeights {
  /**
   * @param x [B, T, D] after the block's LayerNorm
   * @param relPos [2T-1, D] relative position table
   * @param mask padding of the batch, or null when every frame is real
   * @return [B, T, D] after the output projection
   */
  Tensor forward(Tensor x, Tensor relPos, PaddingMask mask);

  /** Chooses native kernels or LibTorch operations for inference calls (training always uses LibTorch). */
  void setBackend(AttentionBackend backend);

  /** Floats a decoder must cache per frame for this layer: 2D for K and V, r for a latent. */
  long cacheFloatsPerFrame();
}
