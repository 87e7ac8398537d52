package dev.mha2mla.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The reference relative-position attention (DESIGN.md section 1), written the way HuggingFace computes
 * it so that it reproduces its numbers:
 *
 * <pre>
 *   AC[h,i,j] = (q_i + u_h) . k_j
 *   BD[h,i,j] = (q_i + w_h) . p_h[(T-1) - i + j]      (the row whose distance is i - j)
 *   out_i     = sum_j softmax_j((AC + BD) / sqrt(dh) + mask) v_j
 * </pre>
 *
 * BD is formed by the "relative shift": raw = (q + w) p^T is [T, 2T-1]; prepend a zero column, view the
 * buffer as [2T, T], drop the first row, view back as [T, 2T-1] and keep the first T columns.
 */
public final class RelativeAttention {
  private RelativeAttention() {}

  /**
   * @param q [B, H, T, dh]
   * @param k [B, H, T, dh]
   * @param v [B, H, T, dh]
   * @param p projected positions [2T-1, H*dh]
   * @param u pos_bias_u [H, dh]
   * @param w pos_bias_v [H, dh]
   * @return [B, T, H*dh] (heads concatenated, before the output projection)
   */
  public static Tensor attend(Tensor q, Tensor k, Tensor v, Tensor p, Tensor u, Tensor w, PaddingMask mask) {
    long b = q.size(0);
    long h = q.size(1);
    long t = q.size(2);
    long dh = q.size(3);
    Tensor ph = p.view(1, 2 * t - 1, h, dh).permute(0, 2, 3, 1); // [1, H, dh, 2T-1]
    Tensor qu = q.add(u.unsqueeze(1));
    Tensor qw = q.add(w.unsqueeze(1));
    Tensor ac = torch.matmul(qu, k.transpose(-2, -1));
    Tensor bd = relativeShift(torch.matmul(qw, ph));
    Tensor scores = ac.add(bd).div(new Scalar(Math.sqrt(dh)));
    if (mask != null) scores = scores.add(mask.additive());
    Tensor probs = torch.softmax(scores, -1);
    return mergeHeads(torch.matmul(probs, v));
  }

  /** raw [B, H, T, 2T-1] (column m = distance (T-1) - m) to BD [B, H, T, T] (column j = key j). */
  public static Tensor relativeShift(Tensor raw) {
    long b = raw.size(0);
    long h = raw.size(1);
    long t = raw.size(2);
    long m = raw.size(3);
    Tensor zero = torch.zeros(new long[] {b, h, t, 1}, raw.options());
    Tensor padded = torch.cat(new TensorVector(zero, raw), -1).view(b, h, m + 1, t);
    return padded.narrow(2, 1, m).view(b, h, t, m).narrow(3, 0, m / 2 + 1);
  }

  /** The same attention by the native fused kernel: [B, H, T, dh] out, heads not yet merged. */
  public static Tensor fused(Tensor q, Tensor k, Tensor v, Tensor p, Tensor u, Tensor w, PaddingMask mask) {
    long t = q.size(2);
    return dev.mha2mla.kernels.FusedAttention.relposAttention(q, k, v, p, u, w, mask == null ? null : mask.lengths(),
        (int) t - 1, 0, 1.0 / Math.sqrt(q.size(3)));
  }

  /** [B, H, T, dh] to [B, T, H*dh]. */
  public static Tensor mergeHeads(Tensor x) {
    return x.transpose(1, 2).reshape(x.size(0), x.size(2), x.size(1) * x.size(3));
  }

  /** Splits [B, T, H*dh] into heads [B, H, T, dh]. */
  public static Tensor heads(Tensor x, long heads) {
    long b = x.size(0);
    long t = x.size(1);
    return x.view(b, t, heads, x.size(2) / heads).transpose(1, 2);
  }
}
