package dev.mha2mla.model;

import dev.mha2mla.kernels.StreamingCache;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * The self-attention block of a conformer layer: multi-head (the checkpoint's) or latent (converted). Both share
 * everything but the K/V path: the query, output and position projections, the position biases u and w
 * ({@code pos_bias_u}, {@code pos_bias_v}, [H, dh]) and the head count; each defines how K and V are made.
 */
public abstract sealed class SelfAttention implements HasWeights permits MultiHeadAttention, LatentAttention {
  protected final Linear query;
  protected final Linear out;
  protected final Linear position;
  protected final Tensor posBiasU;
  protected final Tensor posBiasV;
  protected final int heads;
  protected volatile AttentionBackend backend = AttentionBackend.defaultBackend();

  SelfAttention(Linear query, Linear out, Linear position, Tensor posBiasU, Tensor posBiasV, int heads) {
    this.query = query;
    this.out = out;
    this.position = position;
    this.posBiasU = posBiasU;
    this.posBiasV = posBiasV;
    this.heads = heads;
  }

  /**
   * @param x [B, T, D] after the block's LayerNorm
   * @param relPos [2T-1, D] relative position table
   * @param mask padding of the batch, or null when every frame is real
   * @return [B, T, D] after the output projection
   */
  public abstract Tensor forward(Tensor x, Tensor relPos, PaddingMask mask);

  /**
   * One chunk of a stream (inference only, native kernels): appends the chunk's keys and values (MHA) or latents
   * (MLA) to layer {@code layer} of {@code cache}, then attends the chunk's queries over the cache's window.
   *
   * @param x [1, C, D] after the block's LayerNorm
   * @param cache the session's cache ({@link dev.mha2mla.kernels.LatentCache} only for a block with a latent)
   * @param p this block's projected positions ({@link #projectPositions}) for deltas zeroRow - row
   * @return [1, C, D] after the output projection
   */
  public abstract Tensor forwardChunk(Tensor x, StreamingCache cache, int layer, Tensor p, int zeroRow);

  /** Floats a decoder must cache per frame for this layer: 2D for K and V, r for a latent. */
  public abstract long cacheFloatsPerFrame();

  /** Whether this block has a latent, so that a LATENT cache can hold its stream. */
  public boolean hasLatent() {
    return false;
  }

  /** p = table W_pos^T: the block's projection of a relative position table [P, D]. */
  public Tensor projectPositions(Tensor table) {
    return position.forward(table);
  }

  /** Chooses native kernels or LibTorch operations for inference calls (training always uses LibTorch). */
  public void setBackend(AttentionBackend backend) {
    this.backend = backend;
  }

  public Linear query() { return query; }
  public Linear out() { return out; }
  public Linear position() { return position; }
  public Tensor posBiasU() { return posBiasU; }
  public Tensor posBiasV() { return posBiasV; }
  public int heads() { return heads; }

  /** The HF names: linear_q, the K/V path's tensors, linear_out, linear_pos, pos_bias_u, pos_bias_v. */
  @Override
  public final void weights(String prefix, Map<String, Tensor> into) {
    query.weights(prefix + "linear_q.", into);
    keyValueWeights(prefix, into);
    out.weights(prefix + "linear_out.", into);
    position.weights(prefix + "linear_pos.", into);
    into.put(prefix + "pos_bias_u", posBiasU);
    into.put(prefix + "pos_bias_v", posBiasV);
  }

  /** The K/V path's tensors under their HF names. */
  protected abstract void keyValueWeights(String prefix, Map<String, Tensor> into);
}
