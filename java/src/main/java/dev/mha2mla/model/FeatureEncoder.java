package dev.mha2mla.model;

import dev.mha2mla.kernels.TorchTensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The convolutional front end: raw 16 kHz samples [B, N] to frames [B, C, T]. Layer i is
 * conv(kernel k_i, stride s_i) then a norm then the activation. "layer" norm: LayerNorm over channels
 * after every conv; "group" norm: GroupNorm with one group per channel after the first conv only.
 * Frame count: T = floor((N - k) / s) + 1 applied layer by layer.
 */
public final class FeatureEncoder implements HasWeights {
  private final List<Tensor> convWeights = new ArrayList<>();
  private final List<Tensor> convBiases = new ArrayList<>();
  private final List<Tensor> normWeights = new ArrayList<>();
  private final List<Tensor> normBiases = new ArrayList<>();
  private final ConformerConfig config;
  private final Activation activation;

  public FeatureEncoder(ConformerConfig config, StateDict sd, String prefix) {
    this.config = config;
    this.activation = Activation.of(config.featExtractActivation());
    long in = 1;
    for (int i = 0; i < config.convDim().size(); i++) {
      long out = config.convDim().get(i);
      String name = prefix + "conv_layers." + i + ".";
      convWeights.add(sd.take(name + "conv.weight", out, in, config.convKernel().get(i)));
      convBiases.add(config.convBias() ? sd.take(name + "conv.bias", out) : null);
      boolean normed = config.featExtractNorm().equals("layer") || i == 0;
      normWeights.add(normed ? sd.take(name + "layer_norm.weight", out) : null);
      normBiases.add(normed ? sd.take(name + "layer_norm.bias", out) : null);
      in = out;
    }
  }

  /**
   * Output frames per piece when a long input runs through a frame-local stack ({@link #isFrameLocal()}) in pieces:
   * 1000 frames (20 s at 16 kHz and stride 320). The first layer's activations dominate a pass's memory (C0 floats
   * per 5 input samples: 2 GB for 5 minutes at C0 = 512, three times over), so the pieces bound them by the piece.
   */
  public static final long PIECE_FRAMES = 1000;

  /**
   * input [B, N] -> features [B, C, T]. A frame-local stack runs an input longer than {@link #PIECE_FRAMES} frames in
   * pieces of that many frames, each piece reading the samples of its frames' receptive fields
   * ([f0 * stride, (f1 - 1) * stride + field)), and concatenates them: every frame sees exactly the samples it sees in
   * one pass, so the result is the same up to float rounding of the convolution's own blocking.
   */
  public Tensor forward(Tensor input) {
    return forward(input, PIECE_FRAMES);
  }

  /** As {@link #forward(Tensor)} with pieces of {@code pieceFrames} frames. */
  Tensor forward(Tensor input, long pieceFrames) {
    long frames = frames(input.size(1));
    if (!isFrameLocal() || frames <= pieceFrames) return forwardWhole(input);
    long stride = totalStride();
    long field = minimumSamples();
    List<Tensor> pieces = new ArrayList<>();
    for (long f0 = 0; f0 < frames; f0 += pieceFrames) {
      long f1 = Math.min(frames, f0 + pieceFrames);
      Tensor samples = input.narrow(1, f0 * stride, (f1 - f0 - 1) * stride + field);
      pieces.add(TorchTensors.scoped(() -> forwardWhole(samples)));
    }
    return torch.cat(new TensorVector(pieces.toArray(new Tensor[0])), 2);
  }

  private Tensor forwardWhole(Tensor input) {
    boolean layerNorm = config.featExtractNorm().equals("layer");
    // the first layers' outputs are the largest tensors of a pass (C0 floats per 5 samples): each released once used
    return TorchTensors.chain(input.unsqueeze(1), convWeights.size(), (i, x) -> convLayer(x, i, layerNorm));
  }

  private Tensor convLayer(Tensor x, int i, boolean layerNorm) {
    Tensor b = convBiases.get(i);
    x = torch.conv1d(x, convWeights.get(i), b == null ? new TensorOptional() : new TensorOptional(b),
        new long[] {config.convStride().get(i)}, new long[] {0}, new long[] {1}, 1);
    if (layerNorm) {
      // LayerNorm over channels: move channels last, normalise, move back
      Tensor t = x.transpose(-2, -1);
      t = torch.layer_norm(t, new long[] {x.size(1)}, new TensorOptional(normWeights.get(i)),
          new TensorOptional(normBiases.get(i)), LayerNorm.TORCH_DEFAULT_EPS, false);
      x = t.transpose(-2, -1);
    } else if (i == 0) {
      // GroupNorm with as many groups as channels: each channel normalised over time alone
      x = torch.group_norm(x, x.size(1), new TensorOptional(normWeights.get(i)),
          new TensorOptional(normBiases.get(i)), 1e-5, false);
    }
    return activation.apply(x);
  }

  /**
   * Folds a fixed input normalisation into the first convolution, so that the encoder reads raw samples x and computes
   * what it computed on (x - mean) / std: W' = W / std, b' = b - (mean / std) sum_k W[:, 0, k]. Without a conv bias
   * only the scale folds (the mean of speech audio is ~1e-3 of its deviation); the statistics actually folded are
   * returned. In place, outside autograd.
   */
  public WaveformStatistics foldNormalization(WaveformStatistics stats) {
    Tensor w = convWeights.get(0);
    Tensor b = convBiases.get(0);
    try (NoGradGuard g = new NoGradGuard()) {
      if (b != null) {
        Tensor tapSums = w.sum(new long[] {1, 2}, false, new ScalarTypeOptional());
        b.sub_(tapSums.mul(new Scalar(stats.mean() / stats.std())));
      }
      w.div_(new Scalar(stats.std()));
    }
    return b != null ? stats : new WaveformStatistics(0, stats.std());
  }

  /** Whether each frame depends on its own receptive field only (a "layer" norm encoder), as streaming needs. */
  public boolean isFrameLocal() {
    return config.featExtractNorm().equals("layer");
  }

  /** Number of frames the encoder produces from {@code samples} input samples (0 if too short). */
  public long frames(long samples) {
    long n = samples;
    for (int i = 0; i < config.convKernel().size(); i++) {
      if (n < config.convKernel().get(i)) return 0;
      n = (n - config.convKernel().get(i)) / config.convStride().get(i) + 1;
    }
    return n;
  }

  /** Samples between consecutive frames: the product of the strides. */
  public long totalStride() {
    long stride = 1;
    for (long s : config.convStride()) stride *= s;
    return stride;
  }

  /** Samples needed for one frame: the receptive field of the conv stack. */
  public long minimumSamples() {
    long field = 1;
    for (int i = config.convKernel().size() - 1; i >= 0; i--) {
      field = (field - 1) * config.convStride().get(i) + config.convKernel().get(i);
    }
    return field;
  }

  @Override
  public void weights(String prefix, Map<String, Tensor> out) {
    for (int i = 0; i < convWeights.size(); i++) {
      String name = prefix + "conv_layers." + i + ".";
      out.put(name + "conv.weight", convWeights.get(i));
      if (convBiases.get(i) != null) out.put(name + "conv.bias", convBiases.get(i));
      if (normWeights.get(i) != null) {
        out.put(name + "layer_norm.weight", normWeights.get(i));
        out.put(name + "layer_norm.bias", normBiases.get(i));
      }
    }
  }
}
