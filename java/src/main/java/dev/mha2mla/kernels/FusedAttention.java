package dev.mha2mla.kernels;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The native fused attention kernels on LibTorch tensors: checks shapes, dtypes, devices and strides,
 * then passes data pointers. Outputs are new contiguous tensors on the inputs' device.
 *
 * <p>The attention calls take float32, bfloat16 or float16 tensors, all of one call the same dtype, and return
 * that dtype. In 16 bits the kernels widen the inputs to float32, compute in float32 and round the output once
 * to nearest even (see {@code mha2mla.h}): the result equals the float32 attention of the same 16-bit values,
 * rounded.
 */
public final class FusedAttention {
  private static final boolean AVAILABLE = probe();

  private FusedAttention() {}

  private static boolean probe() {
    try {
      NativeKernels.mla_cuda_compiled();
      return true;
    } catch (Throwable e) {
      org.slf4j.LoggerFactory.getLogger(FusedAttention.class).warn("native kernels unavailable, using LibTorch attention: {}", e.toString());
      return false;
    }
  }

  /** True when libmha2mla loaded on this machine. */
  public static boolean available() {
    return AVAILABLE;
  }

  /** True when the kernels were compiled with CUDA and a GPU is visible. */
  public static boolean cudaUsable() {
    return AVAILABLE && NativeKernels.mla_cuda_compiled() == 1 && NativeKernels.mla_cuda_device_count() > 0;
  }

  /** The CPU instruction set the kernels dispatch to ("avx512f", "avx2" or "baseline"). */
  public static String cpuIsa() {
    return NativeKernels.mla_cpu_isa().getString();
  }

  /**
   * Entry point 1, full utterance or a chunk over a cache: softmax_j(((q_i + u).k_j + (q_i + w).p[zeroRow - delta]) * scale) v_j
   * with delta = qOffset + i - j.
   *
   * @param q [B, H, Tq, dh]; k, v [B, H, Tk, dh]; p [P, H*dh] or [P, H, dh]; u, w [H, dh]; all float32, all
   *     bfloat16 or all float16
   * @param lengths valid keys per sequence, or null
   * @return [B, H, Tq, dh] in the inputs' dtype
   */
  public static Tensor relposAttention(Tensor q, Tensor k, Tensor v, Tensor p, Tensor u, Tensor w, long[] lengths,
      int zeroRow, int qOffset, double scale) {
    int dtype = dtype(new String[] {"q", "k", "v", "p", "u", "w"}, q, k, v, p, u, w);
    int b = dim(q, 0), h = dim(q, 1), tq = dim(q, 2), dh = dim(q, 3), tk = dim(k, 2);
    expect(k, "k", b, h, tk, dh);
    expect(v, "v", b, h, tk, dh);
    Tensor p3 = positionRows(p, h, dh);
    Tensor u2 = u.contiguous();
    Tensor w2 = w.contiguous();
    expect(u2, "u", h, dh);
    expect(w2, "w", h, dh);
    Tensor qq = lastDimContiguous(q);
    Tensor kk = lastDimContiguous(k);
    Tensor vv = lastDimContiguous(v);
    Tensor out = torch.empty(new long[] {b, h, tq, dh}, qq.options(), new org.bytedeco.pytorch.MemoryFormatOptional());
    Tensor len = lengthsTensor(lengths, b, tk, qq);
    int status = NativeKernels.mla_relpos_attention(device(qq), null, dtype, b, h, tq, tk, dh, dim(p3, 0), zeroRow,
        qOffset, (float) scale, qq.data_ptr(), strides3(qq), kk.data_ptr(), strides3(kk), vv.data_ptr(), strides3(vv),
        p3.data_ptr(), strides2(p3), u2.data_ptr(), w2.data_ptr(), len == null ? null : new IntPointer(len.data_ptr()),
        out.data_ptr(), strides3(out));
    check("mla_relpos_attention", status);
    return out;
  }

  /**
   * Entry point 2 (absorbed MLA): z_i = sum_j softmax_j((qa_i . c_j + qw_i . p[zeroRow - delta]) * scale) c_j.
   *
   * @param qa [B, H, Tq, r]; c [B, Tk, r]; qw [B, H, Tq, dh]; p [P, H*dh] or [P, H, dh]; all float32, all
   *     bfloat16 or all float16
   * @return z [B, H, Tq, r] in the inputs' dtype
   */
  public static Tensor latentAttention(Tensor qa, Tensor c, Tensor qw, Tensor p, long[] lengths, int zeroRow, int qOffset,
      double scale) {
    int dtype = dtype(new String[] {"qa", "c", "qw", "p"}, qa, c, qw, p);
    int b = dim(qa, 0), h = dim(qa, 1), tq = dim(qa, 2), r = dim(qa, 3), tk = dim(c, 1), dh = dim(qw, 3);
    expect(c, "c", b, tk, r);
    expect(qw, "qw", b, h, tq, dh);
    Tensor p3 = positionRows(p, h, dh);
    Tensor qq = lastDimContiguous(qa);
    Tensor cc = lastDimContiguous(c);
    Tensor ww = lastDimContiguous(qw);
    Tensor z = torch.empty(new long[] {b, h, tq, r}, qq.options(), new org.bytedeco.pytorch.MemoryFormatOptional());
    Tensor len = lengthsTensor(lengths, b, tk, qq);
    int status = NativeKernels.mla_latent_attention(device(qq), null, dtype, 1, null, 0, b, h, tq, tk, r, dh, dim(p3, 0),
        zeroRow, qOffset, (float) scale, qq.data_ptr(), strides3(qq), cc.data_ptr(), strides2(cc), ww.data_ptr(),
        strides3(ww), p3.data_ptr(), strides2(p3), len == null ? null : new IntPointer(len.data_ptr()), z.data_ptr(),
        strides3(z));
    check("mla_latent_attention", status);
    return z;
  }

  /** p as [P, H, dh] float32 with its last dimension contiguous (the streaming caches' form). */
  static Tensor positions(Tensor p, int h, int dh) {
    return positionRows(floats(p, "p"), h, dh);
  }

  private static Tensor positionRows(Tensor p, int h, int dh) {
    Tensor p3 = p.dim() == 2 ? p.view(p.size(0), h, dh) : p;
    expect(p3, "p", dim(p3, 0), h, dh);
    return lastDimContiguous(p3);
  }

  /**
   * The kernels' dtype (MLA_F32, MLA_BF16 or MLA_F16) of a call's tensors, which must all be float32, all bfloat16
   * or all float16.
   */
  static int dtype(String[] names, Tensor... tensors) {
    ScalarType type = TorchTensors.scalarType(tensors[0]);
    int dtype = switch (type) {
      case Float -> NativeKernels.MLA_F32;
      case BFloat16 -> NativeKernels.MLA_BF16;
      case Half -> NativeKernels.MLA_F16;
      default -> throw new IllegalArgumentException(names[0] + " must be float32, bfloat16 or float16, got " + name(type));
    };
    for (int i = 1; i < tensors.length; i++) {
      if (!TorchTensors.isType(tensors[i], type)) {
        throw new IllegalArgumentException("the tensors of one call must share a dtype: " + names[0] + " is " + name(type)
            + ", " + names[i] + " is " + name(TorchTensors.scalarType(tensors[i])));
      }
    }
    return dtype;
  }

  private static String name(ScalarType type) {
    return switch (type) {
      case Float -> "float32";
      case BFloat16 -> "bfloat16";
      case Half -> "float16";
      case Double -> "float64";
      default -> type.toString();
    };
  }

  private static Tensor lengthsTensor(long[] lengths, int batch, int keys, Tensor like) {
    if (lengths == null) return null;
    if (lengths.length != batch) throw new IllegalArgumentException("lengths has " + lengths.length + " entries for batch " + batch);
    int[] l = new int[batch];
    for (int i = 0; i < batch; i++) {
      if (lengths[i] < 1 || lengths[i] > keys) {
        throw new IllegalArgumentException("length " + lengths[i] + " of sequence " + i + " is outside 1.." + keys);
      }
      l[i] = (int) lengths[i];
    }
    Tensor t = Tensor.create(l, batch);
    return like.is_cuda() ? t.to(like.device(), ScalarType.Int) : t;
  }

  static int device(Tensor t) {
    return t.is_cuda() ? NativeKernels.MLA_DEVICE_CUDA : NativeKernels.MLA_DEVICE_CPU;
  }

  static Tensor floats(Tensor t, String name) {
    if (!TorchTensors.isType(t, ScalarType.Float)) {
      throw new IllegalArgumentException(name + " must be float32, got " + TorchTensors.scalarType(t));
    }
    return t;
  }

  static Tensor lastDimContiguous(Tensor t) {
    return t.stride(t.dim() - 1) == 1 ? t : t.contiguous();
  }

  static void expect(Tensor t, String name, long... shape) {
    if (!java.util.Arrays.equals(t.shape(), shape)) {
      throw new IllegalArgumentException(name + " has shape " + java.util.Arrays.toString(t.shape()) + ", expected "
          + java.util.Arrays.toString(shape));
    }
  }

  static int dim(Tensor t, int i) {
    return Math.toIntExact(t.size(i));
  }

  static FloatPointer ptr(Tensor t) {
    return new FloatPointer(t.data_ptr());
  }

  static long[] strides3(Tensor t) {
    return new long[] {t.stride(0), t.stride(1), t.stride(2)};
  }

  static long[] strides2(Tensor t) {
    return new long[] {t.stride(0), t.stride(1)};
  }

  static void check(String call, int status) {
    if (status != NativeKernels.MLA_OK) throw new KernelException(call, status);
  }
}
