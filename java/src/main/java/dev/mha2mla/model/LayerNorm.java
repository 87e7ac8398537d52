package dev.mha2mla.model;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** Normalises the last dimension: (x - mean) / sqrt(var + eps) * gamma + beta. */
public final class LayerNorm implements HasWeights {
  /** PyTorch's nn.LayerNorm default, used by every conformer-block norm regardless of layer_norm_eps. */
  public static final double TORCH_DEFAULT_EPS = 1e-5;

  private final Tensor weight;
  private final Tensor bias;
  private final double eps;
  private final long[] shape;

  public LayerNorm(Tensor weight, Tensor bias, double eps) {
    this.weight = weight;
    this.bias = bias;
    this.eps = eps;
    this.shape = new long[] {weight == null ? 0 : weight.size(0)};
  }

  public static LayerNorm load(StateDict sd, String name, long dim, double eps) {
    return new LayerNorm(sd.take(name + ".weight", dim), sd.take(name + ".bias", dim), eps);
  }

  public Tensor forward(Tensor x) {
    return torch.layer_norm(x, shape, new TensorOptional(weight), new TensorOptional(bias), eps, false);
  }

  @Override
  public void weights(String prefix, Map<String, Tensor> out) {
    out.put(prefix + "weight", weight);
    out.put(prefix + "bias", bias);
  }
}
