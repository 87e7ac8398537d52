package dev.mha2mla.model;

import dev.mha2mla.io.RawTensor;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Conformer convolution block on [B, T, D]: LayerNorm, pointwise conv to 2D channels, GLU (a * sigmoid(b)),
 * depthwise conv of odd kernel k with (k-1)/2 zero padding each side, BatchNorm with its running
 * statistics (inference form: (x - mean) / sqrt(var + 1e-5) * gamma + beta), activation, pointwise conv.
 * It sees padded frames (no mask), as in HuggingFace.
 */
public final class ConvolutionModule implements HasWeights {
  private static final double BATCH_NORM_EPS = 1e-5;
  private final LayerNorm norm;
  private final Tensor pointwise1;
  private final Tensor depthwise;
  private final Tensor bnWeight;
  private final Tensor bnBias;
  private final Tensor bnMean;
  private final Tensor bnVar;
  private final RawTensor bnBatchesTracked;
  private final Tensor pointwise2;
  private final Activation activation;
  private final long kernel;

  public ConvolutionModule(ConformerConfig c, StateDict sd, String prefix) {
    long d = c.hiddenSize();
    this.kernel = c.depthwiseKernelSize();
    this.norm = LayerNorm.load(sd, prefix + "layer_norm", d, LayerNorm.TORCH_DEFAULT_EPS);
    this.pointwise1 = sd.take(prefix + "pointwise_conv1.weight", 2 * d, d, 1);
    this.depthwise = sd.take(prefix + "depthwise_conv.weight", d, 1, kernel);
    this.bnWeight = sd.take(prefix + "batch_norm.weight", d);
    this.bnBias = sd.take(prefix + "batch_norm.bias", d);
    this.bnMean = sd.take(prefix + "batch_norm.running_mean", d);
    this.bnVar = sd.take(prefix + "batch_norm.running_var", d);
    this.bnBatchesTracked = sd.keepUnused(prefix + "batch_norm.num_batches_tracked");
    this.pointwise2 = sd.take(prefix + "pointwise_conv2.weight", d, d, 1);
    this.activation = Activation.of(c.hiddenAct());
  }

  public Tensor forward(Tensor x) {
    Tensor h = norm.forward(x).transpose(1, 2); // [B, D, T]
    h = torch.conv1d(h, pointwise1);
    h = torch.glu(h, 1);
    h = torch.conv1d(h, depthwise, new TensorOptional(), new long[] {1}, new long[] {(kernel - 1) / 2},
        new long[] {1}, depthwise.size(0));
    h = torch.batch_norm(h, new TensorOptional(bnWeight), new TensorOptional(bnBias), new TensorOptional(bnMean),
        new TensorOptional(bnVar), false, 0.1, BATCH_NORM_EPS, true);
    h = activation.apply(h);
    h = torch.conv1d(h, pointwise2);
    return h.transpose(1, 2);
  }

  /** The BatchNorm step counter, an int64 buffer the forward pass does not read (kept for saving). */
  public RawTensor batchesTracked() {
    return bnBatchesTracked;
  }

  @Override
  public void weights(String prefix, Map<String, Tensor> out) {
    norm.weights(prefix + "layer_norm.", out);
    out.put(prefix + "pointwise_conv1.weight", pointwise1);
    out.put(prefix + "depthwise_conv.weight", depthwise);
    out.put(prefix + "batch_norm.weight", bnWeight);
    out.put(prefix + "batch_norm.bias", bnBias);
    out.put(prefix + "batch_norm.running_mean", bnMean);
    out.put(prefix + "batch_norm.running_var", bnVar);
    out.put(prefix + "pointwise_conv2.weight", pointwise2);
  }
}
