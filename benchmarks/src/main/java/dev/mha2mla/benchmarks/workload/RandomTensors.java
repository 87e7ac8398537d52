package dev.mha2mla.benchmarks.workload;

import dev.mha2mla.model.Linear;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Random benchmark inputs and weights. Never zeros: a product of zeros can run faster than real data, and
 * zeros hide unwritten outputs. Weights are scaled by 1/sqrt(fan-in), so activations and attention scores
 * keep the size they have in a trained model (softmax neither saturates nor flattens).
 */
final class RandomTensors {
  private RandomTensors() {}

  static Tensor normal(double std, long... shape) {
    return torch.randn(shape).mul(new Scalar(std));
  }

  /** W [out, in] ~ N(0, 1/in), bias ~ N(0, 0.02^2) or none. */
  static Linear linear(long out, long in, boolean bias) {
    return new Linear(normal(1 / Math.sqrt(in), out, in), bias ? normal(0.02, out) : null);
  }

  static void close(Linear l) {
    if (l == null) return;
    l.weight().close();
    if (l.bias() != null) l.bias().close();
  }

  static void close(Tensor... tensors) {
    for (Tensor t : tensors) if (t != null) t.close();
  }
}
