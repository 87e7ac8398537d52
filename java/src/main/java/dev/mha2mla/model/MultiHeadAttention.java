package dev.mha2mla.model;

import dev.mha2mla.kernels.KeyValueCache;
import dev.mha2mla.kernels.StreamingCache;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** The checkpoint's relative-position multi-head attention: separate K and V projections of width D. */
public final class MultiHeadAttention extends SelfAttention {
  private final Linear key;
  private final Linear value;

  public MultiHeadAttention(Linear query, Linear key, Linear value, Linear out, Linear position,
      Tensor posBiasU, Tensor posBiasV, int heads) {
    super(query, out, position, posBiasU, posBiasV, heads);
    this.key = key;
    this.value = value;
  }

  public static MultiHeadAttention load(ConformerConfig c, StateDict sd, String prefix) {
    long d = c.hiddenSize();
    return new MultiHeadAttention(
        Linear.load(sd, prefix + "linear_q", d, d, true),
        Linear.load(sd, prefix + "linear_k", d, d, true),
        Linear.load(sd, prefix + "linear_v", d, d, true),
        Linear.load(sd, prefix + "linear_out", d, d, true),
        Linear.load(sd, prefix + "linear_pos", d, d, false),
        sd.take(prefix + "pos_bias_u", c.numAttentionHeads(), c.headDim()),
        sd.take(prefix + "pos_bias_v", c.numAttentionHeads(), c.headDim()),
        c.numAttentionHeads());
  }

  @Override
  public Tensor forward(Tensor x, Tensor relPos, PaddingMask mask) {
    Tensor q = RelativeAttention.heads(query.forward(x), heads);
    Tensor k = RelativeAttention.heads(key.forward(x), heads);
    Tensor v = RelativeAttention.heads(value.forward(x), heads);
    Tensor p = position.forward(relPos);
    if (backend.runsNative(x) && (mask == null || !mask.isChunked())) {
      return out.forward(RelativeAttention.mergeHeads(RelativeAttention.fused(q, k, v, p, posBiasU, posBiasV, mask)));
    }
    return out.forward(RelativeAttention.attend(q, k, v, p, posBiasU, posBiasV, mask));
  }

  @Override
  public Tensor forwardChunk(Tensor x, StreamingCache cache, int layer, Tensor p, int zeroRow) {
    if (!(cache instanceof KeyValueCache kv)) {
      throw new IllegalArgumentException("multi-head attention streams over a KeyValueCache, not " + cache.getClass().getSimpleName());
    }
    Tensor q = RelativeAttention.heads(query.forward(x), heads);
    kv.append(layer, RelativeAttention.heads(key.forward(x), heads), RelativeAttention.heads(value.forward(x), heads));
    Tensor o = kv.attend(layer, q, p, posBiasU, posBiasV, zeroRow, 1.0 / Math.sqrt(q.size(3)));
    return out.forward(RelativeAttention.mergeHeads(o));
  }

  @Override
  public long cacheFloatsPerFrame() {
    return 2 * key.weight().size(0);
  }

  public Linear key() { return key; }
  public Linear value() { return value; }

  @Override
  protected void keyValueWeights(String prefix, Map<String, Tensor> into) {
    key.weights(prefix + "linear_k.", into);
    value.weights(prefix + "linear_v.", into);
  }
}
