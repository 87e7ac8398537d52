package dev.mha2mla.model;

import dev.mha2mla.io.RawTensor;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
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
    return forward(x, null);
  }

  /**
   * The block over a batch; with a chunked {@code mask}, each frame's depthwise convolution sees zeros at and past its
   * chunk's end, as in a stream: out_i = sum_o w_o g_(i+o) over the taps o with i + o < end(i). Computed as the full
   * convolution minus the hidden future taps, w_o g_(i+o) [i + o >= end(i)] for o = 1 .. (k-1)/2.
   */
  public Tensor forward(Tensor x, PaddingMask mask) {
    Tensor g = gated(x);
    Tensor h = torch.conv1d(g, depthwise, new TensorOptional(), new long[] {1}, new long[] {contextFrames()},
        new long[] {1}, depthwise.size(0));
    if (mask != null && mask.isChunked()) {
      int pad = contextFrames();
      long t = g.size(2);
      for (int o = 1; o <= pad && o < t; o++) {
        Tensor ahead = torch.constant_pad_nd(g.narrow(2, o, t - o), new long[] {0, o});  // g_(i+o), zero past T
        Tensor tap = depthwise.select(2, pad + o).view(1, depthwise.size(0), 1);          // w_o per channel
        h = h.sub(ahead.mul(tap).mul(mask.pastChunkEnd(o).to(h.scalar_type())));
      }
    }
    return finish(h);
  }

  /** The depthwise convolution's reach on each side, (k-1)/2 frames: what a stream keeps of the past. */
  public int contextFrames() {
    return (int) ((kernel - 1) / 2);
  }

  /** A stream's starting context: zeros, as the full forward pass pads the sequence start. [1, D, (k-1)/2]. */
  public Tensor initialContext() {
    return torch.zeros(new long[] {1, depthwise.size(0), contextFrames()}, depthwise.options());
  }

  /** Output of one streamed chunk and the context the next chunk starts from. */
  public record Chunk(Tensor out, Tensor context) {}

  /**
   * One chunk of a stream, x [1, C, D]: the depthwise convolution sees the last (k-1)/2 gated frames of earlier
   * chunks ({@code context} [1, D, (k-1)/2], exact) and zeros after the chunk's end, where the full pass would see
   * the future; everything else in the block acts frame by frame.
   */
  public Chunk forwardChunk(Tensor x, Tensor context) {
    int pad = contextFrames();
    Tensor window = torch.cat(new TensorVector(context, gated(x)), 2); // [1, D, pad + C]
    Tensor next = window.narrow(2, window.size(2) - pad, pad).contiguous();
    Tensor h = torch.conv1d(torch.constant_pad_nd(window, new long[] {0, pad}), depthwise, new TensorOptional(),
        new long[] {1}, new long[] {0}, new long[] {1}, depthwise.size(0));
    return new Chunk(finish(h), next);
  }

  /**
   * LayerNorm, pointwise conv to 2D channels, GLU: [B, T, D] to [B, D, T]. A 1 x 1 convolution is a dense layer over
   * the channels, so it runs as one (the weight viewed as [2D, D] at each call, so that autograd reaches the stored
   * tensor); GLU halves the channels, the last dimension here.
   */
  private Tensor gated(Tensor x) {
    Tensor w = pointwise1.view(pointwise1.size(0), pointwise1.size(1));
    return torch.glu(Linear.apply(norm.forward(x), w, null), -1).transpose(1, 2);
  }

  /** BatchNorm, activation, pointwise conv after the depthwise conv: [B, D, T] to [B, T, D]. */
  private Tensor finish(Tensor h) {
    h = torch.batch_norm(h, new TensorOptional(bnWeight), new TensorOptional(bnBias), new TensorOptional(bnMean),
        new TensorOptional(bnVar), false, 0.1, BATCH_NORM_EPS, true);
    h = activation.apply(h);
    return Linear.apply(h.transpose(1, 2), pointwise2.view(pointwise2.size(0), pointwise2.size(1)), null);
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
