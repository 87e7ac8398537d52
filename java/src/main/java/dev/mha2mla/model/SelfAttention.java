package dev.mha2mla.model;

import dev.mha2mla.kernels.StreamingCache;
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

  /**
   * One chunk of a stream (inference only, native kernels): appends the chunk's keys and values (MHA) or latents
   * (MLA) to layer {@code layer} of {@code cache}, then attends the chunk's queries over the cache's window.
   *
   * @param x [1, C, D] after the block's LayerNorm
   * @param cache the session's cache ({@link dev.mha2mla.kernels.LatentCache} only for a block with a latent)
   * @param p this block's projected positions ({@link #projectPositions}) for deltas zeroRow - row
   * @return [1, C, D] after the output projection
   */
  Tensor forwardChunk(Tensor x, StreamingCache cache, int layer, Tensor p, int zeroRow);

  /** p = table W_pos^T: the block's projection of a relative position table [P, D]. */
  Tensor projectPositions(Tensor table);

  /** Whether this block has a latent, so that a LATENT cache can hold its stream. */
  default boolean hasLatent() {
    return false;
  }

  /** Chooses native kernels or LibTorch operations for inference calls (training always uses LibTorch). */
  void setBackend(AttentionBackend backend);

  /** Floats a decoder must cache per frame for this layer: 2D for K and V, r for a latent. */
  long cacheFloatsPerFrame();
}
