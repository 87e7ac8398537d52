package dev.mha2mla.model;

import dev.mha2mla.kernels.NativeLinear;
import java.util.Map;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** y = x W^T + b, W [out, in], b [out] or none. */
public final class Linear implements HasWeights {
  private Tensor weight;
  private Tensor bias;

  public Linear(Tensor weight, Tensor bias) {
    this.weight = weight;
    this.bias = bias;
  }

  public static Linear load(StateDict sd, String name, long out, long in, boolean bias) {
    return new Linear(sd.take(name + ".weight", out, in), bias ? sd.take(name + ".bias", out) : null);
  }

  /**
   * For a few rows (streaming chunks) and a large weight, y^T = W x^T is the faster way round on the CPU: OpenBLAS,
   * single-threaded, takes 0.95 ms for 8 rows of 1024 -> 1024 as x W^T and 0.36 ms as W x^T, and 0.86 ms against
   * 0.06 ms (a matrix-vector product) for one row; from ~128 rows, or below ~1 MB of weight, the two are equal.
   */
  private static final long FEW_ROWS = 64;
  private static final long LARGE_WEIGHT = 256 * 1024;

  public Tensor forward(Tensor x) {
    return apply(x, weight, bias);
  }

  /** y = x W^T + b for a weight held elsewhere (e.g. a 1 x 1 convolution's, viewed as [out, in]); bias may be null. */
  public static Tensor apply(Tensor x, Tensor weight, Tensor bias) {
    long in = weight.size(1);
    long rows = x.dim() == 0 ? 0 : x.numel() / Math.max(1, x.size(-1));
    // Up to a few hundred rows, the native kernel (W read in place) beats a BLAS that packs W on every call; it has
    // no backward, so only where autograd is off.
    if (NativeLinear.prefers(rows) && !GradMode.is_enabled() && NativeLinear.accepts(x, weight, bias)) {
      return NativeLinear.forward(x, weight, bias);
    }
    if (rows >= 1 && rows <= FEW_ROWS && weight.numel() >= LARGE_WEIGHT && !x.is_cuda() && x.size(-1) == in) {
      return forwardFewRows(x, weight, bias, rows, in);
    }
    return bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new TensorOptional(bias));
  }

  /** y = (W x^T)^T + b, the weight as the left operand; one row is a matrix-vector product W x. */
  private static Tensor forwardFewRows(Tensor x, Tensor weight, Tensor bias, long rows, long in) {
    Tensor flat = x.reshape(rows, in);
    Tensor y = rows == 1 ? torch.mv(weight, flat.view(in)).unsqueeze(0) : torch.mm(weight, flat.t()).t();
    if (bias != null) y = y.add(bias);
    long[] shape = x.shape();
    shape[shape.length - 1] = weight.size(0);
    return y.contiguous().view(shape);
  }

  public Tensor weight() {
    return weight;
  }

  public Tensor bias() {
    return bias;
  }

  @Override
  public void weights(String prefix, Map<String, Tensor> out) {
    out.put(prefix + "weight", weight);
    if (bias != null) out.put(prefix + "bias", bias);
  }
}
