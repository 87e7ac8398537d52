package dev.mha2mla.model;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** Position-wise feed-forward: output_dense(act(intermediate_dense(x))). */
public final class FeedForward implements HasWeights {
  private final Linear intermediate;
  private final Linear output;
  private final Activation activation;

  public FeedForward(ConformerConfig c, StateDict sd, String prefix) {
    this.intermediate = Linear.load(sd, prefix + "intermediate_dense", c.intermediateSize(), c.hiddenSize(), true);
    this.output = Linear.load(sd, prefix + "output_dense", c.hiddenSize(), c.intermediateSize(), true);
    this.activation = Activation.of(c.hiddenAct());
  }

  public Tensor forward(Tensor x) {
    return output.forward(activation.apply(intermediate.forward(x)));
  }

  @Override
  public void weights(String prefix, Map<String, Tensor> out) {
    intermediate.weights(prefix + "intermediate_dense.", out);
    output.weights(prefix + "output_dense.", out);
  }
}
