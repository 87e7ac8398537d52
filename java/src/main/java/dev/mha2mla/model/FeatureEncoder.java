package dev.mha2mla.model;

import dev.mha2mla.kernels.TorchTensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.LongOptional;
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
   * input [B, N] -> features [B, C, T], a transposed view of channels-last storage ({@code transpose(1, 2)} of it is
   * contiguous). A frame-local stack runs an input longer than {@link #PIECE_FRAMES} frames in
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
    if (!isFrameLocal() || frames <= pieceFrames) return forwardWhole(input).transpose(1, 2);
    long stride = totalStride();
    long field = minimumSamples();
    List<Tensor> pieces = new ArrayList<>();
    for (long f0 = 0; f0 < frames; f0 += pieceFrames) {
      long f1 = Math.min(frames, f0 + pieceFrames);
      Tensor samples = input.narrow(1, f0 * stride, (f1 - f0 - 1) * stride + field);
      pieces.add(TorchTensors.scoped(() -> forwardWhole(samples)));
    }
    return torch.cat(new TensorVector(pieces.toArray(new Tensor[0])), 1).transpose(1, 2);
  }

  /**
   * input [B, N] -> frames [B, T, C], channels last throughout: each convolution is a sum of matrix products over its
   * taps reading the previous layer's rows in place, and LayerNorm normalises the contiguous last dimension, so no
   * layer transposes its activations (the first layers' are the largest tensors of a pass, C0 floats per 5 samples).
   */
  private Tensor forwardWhole(Tensor input) {
    boolean layerNorm = config.featExtractNorm().equals("layer");
    // each layer's output released once the next has used it
    return TorchTensors.chain(input.unsqueeze(2), convWeights.size(), (i, x) -> convLayer(x, i, layerNorm));
  }

  private Tensor convLayer(Tensor x, int i, boolean layerNorm) {
    long stride = config.convStride().get(i);
    Tensor w = convWeights.get(i);
    Tensor b = convBiases.get(i);
    if (x.size(0) == 1) {
      x = convolve(x.squeeze(0), w, b, stride).unsqueeze(0);
    } else {
      Tensor[] rows = new Tensor[(int) x.size(0)];
      for (int u = 0; u < rows.length; u++) rows[u] = convolve(x.select(0, u), w, b, stride);
      x = torch.stack(new TensorVector(rows));
    }
    if (layerNorm) {
      x = torch.layer_norm(x, new long[] {x.size(2)}, new TensorOptional(normWeights.get(i)),
          new TensorOptional(normBiases.get(i)), LayerNorm.TORCH_DEFAULT_EPS, false);
    } else if (i == 0) {
      // GroupNorm with as many groups as channels: each channel normalised over time alone (on [B, C, T])
      x = torch.group_norm(x.transpose(1, 2), x.size(2), new TensorOptional(normWeights.get(i)),
          new TensorOptional(normBiases.get(i)), 1e-5, false).transpose(1, 2).contiguous();
    }
    return activation.apply(x);
  }

  /**
   * conv1d(x, W, b, stride s) over one utterance, channels last: x [T, C], W [O, C, k] -> y [T', O] with
   * y[t] = b + sum_j W[:, :, j] x[s t + j], T' = (T - k) / s + 1. With C > 1 tap j's rows x[j], x[j + s], ... are a
   * strided view of x (row stride s C >= C), so each tap is one matrix product accumulated into y; with C = 1 the k
   * taps of a frame are one row of length k instead.
   */
  static Tensor convolve(Tensor x, Tensor w, Tensor b, long s) {
    long k = w.size(2);
    long out = (x.size(0) - k) / s + 1;
    if (w.size(1) == 1) {
      Tensor taps = x.squeeze(1).unfold(0, k, s); // [T', k]
      Tensor wk = w.view(w.size(0), k);
      return b == null ? torch.mm(taps, wk.t()) : torch.addmm(b, taps, wk.t());
    }
    Tensor y = null;
    for (long j = 0; j < k; j++) {
      Tensor rows = x.slice(0, new LongOptional(j), new LongOptional(j + s * (out - 1) + 1), s);
      Tensor wj = w.select(2, j).t();
      if (y != null) y = y.addmm_(rows, wj);
      else y = b == null ? torch.mm(rows, wj) : torch.addmm(b, rows, wj);
    }
    return y;
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
