package dev.mha2mla.model;

import dev.mha2mla.kernels.FusedAttention;
import dev.mha2mla.kernels.KeyValueCache;
import dev.mha2mla.kernels.LatentCache;
import dev.mha2mla.kernels.StreamingCache;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Multi-head latent attention (DESIGN.md sections 2-3). One latent per frame, shared by K, V and every
 * head: c = x W_down^T (r values), k = c W_uk^T + bk, v = c W_uv^T + bv. Query, output and position
 * projections and the biases u, w are the MHA model's.
 *
 * <p>Stored as {@code self_attn.kv_down.weight} [r, D], {@code self_attn.k_up.{weight [D, r], bias [D]}},
 * {@code self_attn.v_up.{weight [D, r], bias [D]}} in place of linear_k / linear_v.
 */
public final class LatentAttention extends SelfAttention {
  /** How attention over the latent is evaluated; both give the same numbers up to rounding. */
  public enum Form {
    /** Rebuild K and V from the latent, then the reference attention. Differentiable; best for full utterances. */
    EXPANDED,
    /** Fold W_uk into the query and W_uv into the output; attend over c directly. Best for few queries over a long cache. */
    ABSORBED
  }

  private final Linear kvDown;
  private final Linear kUp;
  private final Linear vUp;
  private volatile Form form = Form.EXPANDED;

  public LatentAttention(Linear query, Linear kvDown, Linear kUp, Linear vUp, Linear out, Linear position,
      Tensor posBiasU, Tensor posBiasV, int heads) {
    super(query, out, position, posBiasU, posBiasV, heads);
    this.kvDown = kvDown;
    this.kUp = kUp;
    this.vUp = vUp;
  }

  /** Encoder layer {@code layer}'s attention, whose latent size the config's MLA block gives. */
  public static LatentAttention load(ConformerConfig c, int layer, StateDict sd, String prefix) {
    long d = c.hiddenSize();
    long r = c.mla().latentDim(layer);
    return new LatentAttention(
        Linear.load(sd, prefix + "linear_q", d, d, true),
        Linear.load(sd, prefix + "kv_down", r, d, false),
        Linear.load(sd, prefix + "k_up", d, r, true),
        Linear.load(sd, prefix + "v_up", d, r, true),
        Linear.load(sd, prefix + "linear_out", d, d, true),
        Linear.load(sd, prefix + "linear_pos", d, d, false),
        sd.take(prefix + "pos_bias_u", c.numAttentionHeads(), c.headDim()),
        sd.take(prefix + "pos_bias_v", c.numAttentionHeads(), c.headDim()),
        c.numAttentionHeads());
  }

  public void setForm(Form form) {
    this.form = form;
  }

  public Form form() {
    return form;
  }

  public long latentDim() {
    return kvDown.weight().size(0);
  }

  @Override
  public long cacheFloatsPerFrame() {
    return latentDim();
  }

  @Override
  public Tensor forward(Tensor x, Tensor relPos, PaddingMask mask) {
    Tensor c = kvDown.forward(x); // [B, T, r]
    Tensor q = RelativeAttention.heads(query.forward(x), heads);
    Tensor p = position.forward(relPos);
    boolean fused = backend.runsNative(x) && (mask == null || !mask.isChunked());
    Tensor attended;
    if (form == Form.EXPANDED) {
      Tensor k = RelativeAttention.heads(kUp.forward(c), heads);
      Tensor v = RelativeAttention.heads(vUp.forward(c), heads);
      attended = fused ? RelativeAttention.mergeHeads(RelativeAttention.fused(q, k, v, p, posBiasU, posBiasV, mask))
          : RelativeAttention.attend(q, k, v, p, posBiasU, posBiasV, mask);
    } else {
      attended = attendAbsorbed(q, c, p, mask, fused);
    }
    return out.forward(attended);
  }

  /**
   * qa_h = (q + u_h) W_uk,h (r values); AC = qa . c (the bk term is constant in j and cancels in softmax);
   * z_h = sum_j probs c_j; o_h = z_h W_uv,h^T + bv_h (probabilities sum to one, so bv passes through).
   */
  private Tensor attendAbsorbed(Tensor q, Tensor c, Tensor p, PaddingMask mask, boolean fused) {
    long t = q.size(2);
    long dh = q.size(3);
    Tensor qa = absorbQueries(q);                                  // [B, H, T, r]
    Tensor qw = q.add(posBiasV.unsqueeze(1));
    Tensor z;                                                      // [B, H, T, r]
    if (fused) {
      z = FusedAttention.latentAttention(qa, c, qw, p, mask == null ? null : mask.lengths(), (int) t - 1, 0,
          1.0 / Math.sqrt(dh));
    } else {
      Tensor latent = c.unsqueeze(1);                              // [B, 1, T, r], shared by all heads
      Tensor ac = torch.matmul(qa, latent.transpose(-2, -1));
      Tensor ph = p.view(1, 2 * t - 1, heads, dh).permute(0, 2, 3, 1);
      Tensor bd = RelativeAttention.relativeShift(torch.matmul(qw, ph));
      Tensor scores = ac.add(bd).div(new Scalar(Math.sqrt(dh)));
      if (mask != null) scores = scores.add(mask.additive());
      z = torch.matmul(torch.softmax(scores, -1), latent);
    }
    return expandOutputs(z);
  }

  /** qa_h = (q_h + u_h) W_uk,h: queries [B, H, T, dh] to absorbed queries [B, H, T, r]. */
  private Tensor absorbQueries(Tensor q) {
    Tensor wuk = kUp.weight().view(heads, q.size(3), latentDim()); // W_uk,h: rows of head h
    return perHead(q.add(posBiasU.unsqueeze(1)), wuk);
  }

  /** o_h = z_h W_uv,h^T + bv_h: attended latents [B, H, T, r] to head outputs, merged to [B, T, D]. */
  private Tensor expandOutputs(Tensor z) {
    long dh = vUp.weight().size(0) / heads;
    Tensor wuv = vUp.weight().view(heads, dh, latentDim());
    return RelativeAttention.mergeHeads(perHead(z, wuv.transpose(-2, -1)).add(vUp.bias().view(heads, 1, dh)));
  }

  /**
   * x_h W_h for every head: x [B, H, T, m], w [H, m, n] to [B, H, T, n]. One batched product over the heads with
   * batch and time folded into rows, so each head's weight is read as it is (a broadcasting matmul would copy
   * it once per batch row).
   */
  private Tensor perHead(Tensor x, Tensor w) {
    long b = x.size(0), t = x.size(2);
    Tensor rows = x.transpose(0, 1).reshape(heads, b * t, x.size(3)); // [H, B*T, m]
    return torch.bmm(rows, w).view(heads, b, t, w.size(2)).transpose(0, 1);
  }

  /**
   * Over a {@link LatentCache}: the absorbed form, each cached frame r floats read once for all heads. Over a
   * {@link KeyValueCache}: the chunk's latent expanded to K and V once, then attention as in MHA (faster for larger
   * chunks, 2d floats per cached frame).
   */
  @Override
  public Tensor forwardChunk(Tensor x, StreamingCache cache, int layer, Tensor p, int zeroRow) {
    Tensor c = kvDown.forward(x);
    Tensor q = RelativeAttention.heads(query.forward(x), heads);
    double scale = 1.0 / Math.sqrt(q.size(3));
    if (cache instanceof LatentCache latent) {
      latent.append(layer, c);
      return out.forward(expandOutputs(latent.attend(layer, absorbQueries(q), q.add(posBiasV.unsqueeze(1)), p, zeroRow, scale)));
    }
    KeyValueCache kv = (KeyValueCache) cache;
    kv.append(layer, RelativeAttention.heads(kUp.forward(c), heads), RelativeAttention.heads(vUp.forward(c), heads));
    return out.forward(RelativeAttention.mergeHeads(kv.attend(layer, q, p, posBiasU, posBiasV, zeroRow, scale)));
  }

  @Override
  public boolean hasLatent() {
    return true;
  }

  public Linear kvDown() { return kvDown; }
  public Linear kUp() { return kUp; }
  public Linear vUp() { return vUp; }

  @Override
  protected void keyValueWeights(String prefix, Map<String, Tensor> into) {
    kvDown.weights(prefix + "kv_down.", into);
    kUp.weights(prefix + "k_up.", into);
    vUp.weights(prefix + "v_up.", into);
  }
}
