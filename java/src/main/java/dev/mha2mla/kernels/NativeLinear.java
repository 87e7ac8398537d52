package dev.mha2mla.kernels;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A dense layer y = x W^T + b on the CPU through {@code mla_linear_f32} (entry point 4 of {@code mha2mla.h}): float32,
 * W [out, in] read where it lies instead of being packed by a BLAS on every call, which is what makes a few hundred
 * rows or fewer faster than LibTorch's product (see {@link #prefers}).
 */
public final class NativeLinear {
  private static final long PREFERRED_MAX_ROWS =
      FusedAttention.available() && "avx512f".equals(FusedAttention.cpuIsa()) ? 224 : 128;

  private NativeLinear() {}

  /**
   * Rows of x up to which the kernel beat OpenBLAS's product in LibTorch on the machine it was measured on (2-core
   * AMD EPYC, one thread, 1024 x 4096 and 4096 x 1024 weights; benchmarks/results/flagship-memory/native-linear/
   * standalone): with AVX-512, 1.28-1.42x at 99 rows, 1.04-1.12x at 197, 0.92-1.01x at 256; with AVX2 (OpenBLAS's
   * Haswell kernels), 1.11x at 64 rows, 1.03x at 128 and 0.99x at 197.
   */
  public static long preferredMaxRows() {
    return PREFERRED_MAX_ROWS;
  }

  /**
   * Whether the kernel is the faster way for this many rows: 1 to {@link #preferredMaxRows()}. Tiny products too: one
   * row through a 144 x 144 weight took 11.1 us from Java against {@code torch.linear}'s 13.5 us.
   */
  public static boolean prefers(long rows) {
    return rows >= 1 && rows <= PREFERRED_MAX_ROWS;
  }

  /** Whether {@link #forward} takes these tensors: kernels loaded, all on the CPU, float32, W [out, in] contiguous. */
  public static boolean accepts(Tensor x, Tensor weight, Tensor bias) {
    if (!FusedAttention.available() || x.is_cuda() || weight.is_cuda() || weight.dim() != 2 || x.dim() < 1) return false;
    if (!TorchTensors.isType(x, ScalarType.Float) || !TorchTensors.isType(weight, ScalarType.Float)) return false;
    if (!weight.is_contiguous() || x.size(-1) != weight.size(1)) return false;
    return bias == null
        || (!bias.is_cuda() && TorchTensors.isType(bias, ScalarType.Float) && bias.dim() == 1 && bias.is_contiguous()
            && bias.size(0) == weight.size(0));
  }

  /**
   * y = x W^T + b for x [..., in], W [out, in], b [out] or null; returns a new contiguous [..., out] tensor. Not
   * differentiable: callers keep autograd off.
   *
   * @throws IllegalArgumentException where {@link #accepts} is false
   */
  public static Tensor forward(Tensor x, Tensor weight, Tensor bias) {
    if (!accepts(x, weight, bias)) {
      throw new IllegalArgumentException("native linear takes float32 CPU tensors x [..., in], W [out, in] contiguous, b [out]; got x "
          + java.util.Arrays.toString(x.shape()) + ", W " + java.util.Arrays.toString(weight.shape()));
    }
    long in = weight.size(1), out = weight.size(0);
    long rows = x.numel() / in;
    long[] shape = x.shape();
    shape[shape.length - 1] = out;
    // new_empty and reading x in place where its rows allow: each LibTorch call from Java costs microseconds
    Tensor y = x.new_empty(shape);
    if (rows == 0) return y;
    Tensor rowsOf = x;
    long ldx = in;
    if (x.dim() == 2 && x.stride(1) == 1 && x.stride(0) >= in) {
      ldx = x.stride(0);
    } else if (!x.is_contiguous()) {
      rowsOf = x.contiguous();
    }
    int status = NativeKernels.mla_linear_f32(Math.toIntExact(rows), Math.toIntExact(out), Math.toIntExact(in),
        rowsOf.data_ptr(), ldx, weight.data_ptr(), bias == null ? null : bias.data_ptr(), y.data_ptr(), out);
    FusedAttention.check("mla_linear_f32", status);
    return y;
  }
}
