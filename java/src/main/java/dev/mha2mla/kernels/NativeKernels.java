package dev.mha2mla.kernels;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.annotation.ByPtrPtr;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Opaque;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of {@code native/include/mha2mla.h}, the one C header of the native kernels (see it for
 * the math and the contract). The Maven build compiles the JNI bridge for this class and packs it with
 * {@code libmha2mla.so} (CPU kernels, plus CUDA kernels where nvcc was found). Use {@link FusedAttention},
 * {@link LatentCache} and {@link KeyValueCache} for a tensor-level API; these are the raw entry points.
 */
@Platform(include = "mha2mla.h", link = "mha2mla")
public final class NativeKernels {
  public static final int MLA_OK = 0;
  public static final int MLA_ERR_INVALID_ARGUMENT = 1;
  public static final int MLA_ERR_UNSUPPORTED = 2;
  public static final int MLA_ERR_CUDA = 3;
  public static final int MLA_ERR_OUT_OF_MEMORY = 4;
  public static final int MLA_DEVICE_CPU = 0;
  public static final int MLA_DEVICE_CUDA = 1;
  /** Element types of entry points 1 and 2 (the dtype argument of mla_relpos_attention and mla_latent_attention). */
  public static final int MLA_F32 = 0;
  public static final int MLA_BF16 = 1;
  public static final int MLA_F16 = 2;

  static {
    // LibTorch first: its bundled libgomp then serves the kernels' OpenMP as well (one runtime, one thread pool)
    Loader.load(org.bytedeco.pytorch.global.torch.class);
    Loader.load();
  }

  private NativeKernels() {}

  public static native @Cast("const char*") BytePointer mla_status_string(int status);

  public static native int mla_cuda_compiled();

  public static native int mla_cuda_device_count();

  public static native @Cast("const char*") BytePointer mla_cpu_isa();

  public static native int mla_set_cpu_isa(@Cast("const char*") BytePointer isa);

  public static native int mla_set_num_threads(int n);

  public static native @Cast("int64_t") long mla_malloc_in_use_bytes();

  public static native int mla_relpos_attention(int device, Pointer stream, int dtype,
      int B, int H, int Tq, int Tk, int dh, int P, int zeroRow, int qOffset, float scale,
      @Const Pointer q, @Cast("const int64_t*") long[] qStrides,
      @Const Pointer k, @Cast("const int64_t*") long[] kStrides,
      @Const Pointer v, @Cast("const int64_t*") long[] vStrides,
      @Const Pointer p, @Cast("const int64_t*") long[] pStrides,
      @Const Pointer u, @Const Pointer w,
      @Cast("const int32_t*") IntPointer lengths,
      Pointer out, @Cast("const int64_t*") long[] outStrides);

  public static native int mla_latent_attention(int device, Pointer stream, int dtype, int numSplits,
      Pointer workspace, long workspaceBytes,
      int B, int H, int Tq, int Tk, int r, int dh, int P, int zeroRow, int qOffset, float scale,
      @Const Pointer qa, @Cast("const int64_t*") long[] qaStrides,
      @Const Pointer c, @Cast("const int64_t*") long[] cStrides,
      @Const Pointer qw, @Cast("const int64_t*") long[] qwStrides,
      @Const Pointer p, @Cast("const int64_t*") long[] pStrides,
      @Cast("const int32_t*") IntPointer lengths,
      Pointer z, @Cast("const int64_t*") long[] zStrides);

  public static native int mla_latent_attention_plan(int device, int B, int H, int Tq, int r, int Tk, int[] numSplits,
      @Cast("int64_t*") long[] workspaceBytes);

  public static native int mla_linear_f32(int M, int N, int K, @Cast("const float*") Pointer x, @Cast("int64_t") long ldx,
      @Cast("const float*") Pointer w, @Cast("const float*") Pointer b, @Cast("float*") Pointer y,
      @Cast("int64_t") long ldy);

  /** The opaque {@code mla_cache*} of entry point 3; only {@link #mla_cache_destroy} frees it. */
  @Opaque
  public static class mla_cache extends Pointer {
    public mla_cache() {
      super((Pointer) null);
    }

    public mla_cache(Pointer p) {
      super(p);
    }
  }

  public static native int mla_latent_cache_create(@ByPtrPtr mla_cache cache, int device, int layers, @Cast("const int*") int[] r, int maxFrames);

  public static native int mla_kv_cache_create(@ByPtrPtr mla_cache cache, int device, int layers, int H, int dh, int maxFrames);

  public static native int mla_cache_destroy(mla_cache cache);

  public static native int mla_cache_reset(mla_cache cache);

  public static native long mla_cache_bytes_per_frame(@Const mla_cache cache);

  public static native long mla_cache_bytes(@Const mla_cache cache);

  public static native int mla_cache_frames(@Const mla_cache cache, int layer);

  public static native long mla_cache_first_position(@Const mla_cache cache, int layer);

  public static native int mla_latent_cache_append_f32(mla_cache cache, Pointer stream, int layer, int frames,
      @Const FloatPointer c, long cStride);

  public static native int mla_kv_cache_append_f32(mla_cache cache, Pointer stream, int layer, int frames,
      @Const FloatPointer k, @Cast("const int64_t*") long[] kStrides,
      @Const FloatPointer v, @Cast("const int64_t*") long[] vStrides);

  public static native int mla_cache_attend_plan(@Cast("mla_cache* const*") PointerPointer caches, int B, int layer, int H,
      int Tq, int[] numSplits, @Cast("int64_t*") long[] workspaceBytes);

  public static native int mla_latent_cache_attend_f32(Pointer stream, int numSplits, Pointer workspace, long workspaceBytes,
      @Cast("mla_cache* const*") PointerPointer caches, int B, int layer, int H, int Tq, int dh, int P, int zeroRow, float scale,
      @Const FloatPointer qa, @Cast("const int64_t*") long[] qaStrides,
      @Const FloatPointer qw, @Cast("const int64_t*") long[] qwStrides,
      @Const FloatPointer p, @Cast("const int64_t*") long[] pStrides,
      FloatPointer z, @Cast("const int64_t*") long[] zStrides);

  public static native int mla_kv_cache_attend_f32(Pointer stream, int numSplits, Pointer workspace, long workspaceBytes,
      @Cast("mla_cache* const*") PointerPointer caches, int B, int layer, int Tq, int P, int zeroRow, float scale,
      @Const FloatPointer q, @Cast("const int64_t*") long[] qStrides,
      @Const FloatPointer p, @Cast("const int64_t*") long[] pStrides,
      @Const FloatPointer u, @Const FloatPointer w,
      FloatPointer out, @Cast("const int64_t*") long[] outStrides);
}
