package dev.mha2mla.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Sinusoidal relative position table for T frames: [2T-1, D], row m holds distance delta = (T-1) - m
 * (delta = i - j, positive when the key lies left of the query). Column 2k = sin(delta f_k),
 * 2k+1 = cos(delta f_k), f_k = exp(2k * -(ln 10000 / D)). Built in float32 with the same operations as
 * HuggingFace's table so it matches it exactly.
 */
public final class RelativePositionalEmbedding {
  private RelativePositionalEmbedding() {}

  public static Tensor table(long frames, long dim) {
    Tensor position = torch.arange(new Scalar(0), new Scalar(frames), new TensorOptions(ScalarType.Long))
        .to(ScalarType.Float).unsqueeze(1);
    Tensor divTerm = torch.arange(new Scalar(0), new Scalar(dim), new Scalar(2), new TensorOptions(ScalarType.Long))
        .to(ScalarType.Float).mul(new Scalar(-(Math.log(10000.0) / dim))).exp();
    Tensor angle = position.mul(divTerm);
    Tensor negAngle = position.mul(new Scalar(-1)).mul(divTerm);
    // interleave sin/cos: stack on a new last axis then flatten -> [T, D]
    Tensor positive = torch.stack(new TensorVector(angle.sin(), angle.cos()), 2).reshape(frames, dim);
    Tensor negative = torch.stack(new TensorVector(negAngle.sin(), negAngle.cos()), 2).reshape(frames, dim);
    // rows: delta = T-1 ... 0 (flipped positive half), then -1 ... -(T-1)
    Tensor table = torch.cat(new TensorVector(torch.flip(positive, 0), negative.narrow(0, 1, frames - 1)), 0);
    return table;
  }
}
