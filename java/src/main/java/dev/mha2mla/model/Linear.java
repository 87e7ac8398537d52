package dev.mha2mla.model;

import java.util.Map;
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

  public Tensor forward(Tensor x) {
    return bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new TensorOptional(bias));
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
