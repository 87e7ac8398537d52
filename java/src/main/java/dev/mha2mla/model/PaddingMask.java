package dev.mha2mla.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Which frames of a padded batch are real. {@code lengths[b]} frames of sequence b are valid; the rest
 * are padding. Attention hides padded keys by adding float32's lowest value to their scores (as
 * HuggingFace does); padded query rows are still computed.
 *
 * @param lengths valid frames per sequence
 * @param valid bool [B, T], true on real frames
 * @param additive float [B, 1, 1, T]: 0 on real keys, -3.4028235e38 on padded ones
 */
public record PaddingMask(long[] lengths, Tensor valid, Tensor additive) {

  public static PaddingMask of(long[] lengths, long frames, org.bytedeco.pytorch.Device device) {
    long[] flat = new long[lengths.length * (int) frames];
    for (int b = 0; b < lengths.length; b++) {
      for (int t = 0; t < frames; t++) flat[b * (int) frames + t] = t < lengths[b] ? 1 : 0;
    }
    Tensor ones = Tensor.create(flat, lengths.length, frames);
    if (device != null) ones = ones.to(device, ScalarType.Long);
    Tensor valid = ones.to(ScalarType.Bool);
    // (1 - mask) * finfo(float32).min, shaped to broadcast over heads and query rows
    Tensor additive = torch.ones_like(ones).sub(ones).to(ScalarType.Float)
        .mul(new Scalar(-Float.MAX_VALUE)).unsqueeze(1).unsqueeze(1);
    return new PaddingMask(lengths.clone(), valid, additive);
  }

  public int batch() {
    return lengths.length;
  }
}
