package dev.mha2mla.model;

import dev.mha2mla.kernels.TorchTensors;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

/**
 * Which frames of a batch each frame may see. {@code lengths[b]} frames of sequence b are real; the rest are padding,
 * hidden from attention by adding float32's lowest value to their scores (as HuggingFace does); padded query rows are
 * still computed. With a {@link Chunking}, each real frame also sees only its chunk's window (attention) and nothing at
 * or past its chunk's end (the convolution modules): the full pass then computes what a stream computes.
 *
 * @param lengths valid frames per sequence
 * @param valid bool [B, T], true on real frames
 * @param additive float, 0 where a key is visible and -3.4028235e38 where not: [B, 1, 1, T] for padding alone,
 *     [B, 1, T, T] (query row, key column) with a chunking
 * @param chunking the streaming restriction, or null for whole utterances
 */
public record PaddingMask(long[] lengths, Tensor valid, Tensor additive, Chunking chunking) {

  /** Padding only: every real frame sees every real frame. */
  public static PaddingMask of(long[] lengths, long frames, Device device) {
    Tensor ones = Tensor.create(validity(lengths, frames), lengths.length, frames);
    if (device != null) ones = ones.to(device, ScalarType.Long);
    Tensor valid = ones.to(ScalarType.Bool);
    // (1 - mask) * finfo(float32).min, shaped to broadcast over heads and query rows
    Tensor additive = torch.ones_like(ones).sub(ones).to(ScalarType.Float)
        .mul(new Scalar(-Float.MAX_VALUE)).unsqueeze(1).unsqueeze(1);
    return new PaddingMask(lengths.clone(), valid, additive, null);
  }

  /**
   * Padding and chunks: query i of sequence b sees key j when {@code chunking.windowStart(i, len) <= j <
   * chunking.chunkEnd(i, len)} (len = lengths[b], so never a padded key; padded query rows see the last window).
   */
  public static PaddingMask chunked(long[] lengths, long frames, Chunking chunking, Device device) {
    int t = Math.toIntExact(frames);
    long[] starts = new long[lengths.length * t];
    long[] ends = new long[lengths.length * t];
    for (int b = 0; b < lengths.length; b++) {
      for (int i = 0; i < t; i++) {
        starts[b * t + i] = chunking.windowStart(i, lengths[b]);
        ends[b * t + i] = chunking.chunkEnd(i, lengths[b]);
      }
    }
    Tensor start = Tensor.create(starts, lengths.length, 1, t, 1);
    Tensor end = Tensor.create(ends, lengths.length, 1, t, 1);
    Tensor key = torch.arange(new Scalar(t)).view(1, 1, 1, t);
    Tensor hidden = key.lt(start).logical_or(key.ge(end));                        // [B, 1, T, T]
    Tensor additive = torch.zeros(new long[] {lengths.length, 1, t, t}, new TensorOptions(ScalarType.Float))
        .masked_fill(hidden, new Scalar(-Float.MAX_VALUE));
    Tensor valid = Tensor.create(validity(lengths, frames), lengths.length, frames).to(ScalarType.Bool);
    if (device != null) {
      additive = additive.to(device, ScalarType.Float);
      valid = valid.to(device, ScalarType.Bool);
    }
    return new PaddingMask(lengths.clone(), valid, additive, chunking);
  }

  private static long[] validity(long[] lengths, long frames) {
    long[] flat = new long[lengths.length * (int) frames];
    for (int b = 0; b < lengths.length; b++) {
      for (int t = 0; t < frames; t++) flat[b * (int) frames + t] = t < lengths[b] ? 1 : 0;
    }
    return flat;
  }

  public int batch() {
    return lengths.length;
  }

  /** Whether a chunking restricts the frames (the fused kernels take padding lengths only, so then LibTorch attends). */
  public boolean isChunked() {
    return chunking != null;
  }

  /**
   * For a depthwise convolution tap {@code offset} frames ahead: float [B, 1, T], 1 where frame i + offset lies at or
   * past the end of frame i's chunk (where a stream sees zeros), 0 elsewhere. All zeros without a chunking.
   */
  public Tensor pastChunkEnd(int offset) {
    int t = (int) valid.size(1);
    float[] flat = new float[lengths.length * t];
    if (chunking != null) {
      for (int b = 0; b < lengths.length; b++) {
        for (int i = 0; i < t; i++) flat[b * t + i] = i + offset >= chunking.chunkEnd(i, lengths[b]) ? 1f : 0f;
      }
    }
    Tensor out = TorchTensors.floats(flat, lengths.length, 1, t);
    return valid.is_cuda() ? out.to(valid.device(), ScalarType.Float) : out;
  }
}
