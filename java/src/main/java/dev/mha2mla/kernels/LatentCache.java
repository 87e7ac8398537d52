package dev.mha2mla.kernels;

import static dev.mha2mla.kernels.FusedAttention.dim;
import static dev.mha2mla.kernels.FusedAttention.expect;
import static dev.mha2mla.kernels.FusedAttention.floats;
import static dev.mha2mla.kernels.FusedAttention.lastDimContiguous;
import static dev.mha2mla.kernels.FusedAttention.ptr;
import static dev.mha2mla.kernels.FusedAttention.strides2;
import static dev.mha2mla.kernels.FusedAttention.strides3;

import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Streaming cache for absorbed MLA: per frame and layer the latent c (r floats, shared by all heads), and attention
 * of a chunk's absorbed queries over it ({@link FusedAttention#latentAttention} over the window, each cached frame
 * read once for all heads).
 *
 * <pre>{@code
 * try (LatentCache cache = LatentCache.create(new Device("cpu"), new int[] {r0, r1, ...}, leftContext + chunk)) {
 *   for (each chunk, each layer l) {
 *     cache.append(l, c);                                      // c [1, T, r_l]
 *     Tensor z = cache.attend(l, qa, qw, p, zeroRow, scale);   // qa [1, H, T, r_l], qw [1, H, T, dh] -> z [1, H, T, r_l]
 *   }
 * }
 * }</pre>
 * p covers every delta of the window: with n = frames(l) and T queries, delta = n - T + i - j lies in [-(T-1), n-1]
 * and row zeroRow - delta must exist (HF layout over n + T - 1 rows: zeroRow = n - 1).
 */
public final class LatentCache extends StreamingCache {
  private final int[] latentSizes;

  private LatentCache(NativeKernels.mla_cache handle, boolean cuda, int[] latentSizes, int maxFrames) {
    super(handle, cuda, latentSizes.length, maxFrames);
    this.latentSizes = latentSizes;
  }

  /**
   * A cache of one layer per entry of {@code latentSizes} (layer l keeping r_l floats per frame), at most
   * {@code maxFrames} frames, on a CPU or the current CUDA device.
   */
  public static LatentCache create(Device device, int[] latentSizes, int maxFrames) {
    int dev = nativeDevice(device);
    int[] sizes = latentSizes.clone();
    NativeKernels.mla_cache h = create("mla_latent_cache_create",
        c -> NativeKernels.mla_latent_cache_create(c, dev, sizes.length, sizes, maxFrames));
    return new LatentCache(h, device.is_cuda(), sizes, maxFrames);
  }

  /** r of layer {@code layer}. */
  public int latentSize(int layer) {
    checkLayer(layer);
    return latentSizes[layer];
  }

  /** Appends a chunk's latents, c [1, T, r] float32 on the cache's device (rows may be strided). */
  public void append(int layer, Tensor c) {
    checkLayer(layer);
    checkDevice(c, "c");
    expect(c, "c", 1, dim(c, 1), latentSizes[layer]);
    try (PointerScope scope = new PointerScope()) {
      Tensor cc = lastDimContiguous(floats(c, "c"));
      FusedAttention.check("mla_latent_cache_append_f32",
          NativeKernels.mla_latent_cache_append_f32(handle(), null, layer, dim(cc, 1), ptr(cc), cc.stride(1)));
    }
  }

  /**
   * The chunk's attention over this cache's window: z_i = sum_j softmax_j((qa_i . c_j + qw_i . p[zeroRow - delta]) * scale) c_j.
   *
   * @param qa absorbed queries [1, H, T, r]; qw = q + w, [1, H, T, dh]; p [P, H*dh] or [P, H, dh]
   * @return z [1, H, T, r]
   */
  public Tensor attend(int layer, Tensor qa, Tensor qw, Tensor p, int zeroRow, double scale) {
    return attend(List.of(this), layer, qa, qw, p, zeroRow, scale);
  }

  /**
   * One attend over a batch of sessions, caches.get(b) for batch row b: qa [B, H, T, r], qw [B, H, T, dh], every
   * session's chunk T frames long; windows may differ in length (p must cover the longest). Returns z [B, H, T, r].
   */
  public static Tensor attend(List<LatentCache> caches, int layer, Tensor qa, Tensor qw, Tensor p, int zeroRow,
      double scale) {
    if (caches.isEmpty()) throw new IllegalArgumentException("no caches to attend over");
    int b = dim(qa, 0), h = dim(qa, 1), tq = dim(qa, 2), r = dim(qa, 3), dh = dim(qw, 3);
    if (b != caches.size()) throw new IllegalArgumentException("qa has " + b + " sessions for " + caches.size() + " caches");
    expect(qa, "qa", b, h, tq, caches.get(0).latentSize(layer));
    expect(qw, "qw", b, h, tq, dh);
    Tensor z = torch.empty(new long[] {b, h, tq, r}, qa.options(), new org.bytedeco.pytorch.MemoryFormatOptional());
    try (PointerScope scope = new PointerScope()) {
      PointerPointer<NativeKernels.mla_cache> handles = handles(caches, layer, tq, qa, qw, p);
      Tensor p3 = FusedAttention.positions(p, h, dh);
      Tensor qq = lastDimContiguous(floats(qa, "qa"));
      Tensor ww = lastDimContiguous(floats(qw, "qw"));
      int[] splits = {0};
      long[] bytes = {0};
      FusedAttention.check("mla_cache_attend_plan", NativeKernels.mla_cache_attend_plan(handles, b, layer, h, tq, splits, bytes));
      Tensor workspace = bytes[0] > 0 ? torch.empty(new long[] {(bytes[0] + 3) / 4}, qq.options(),
          new org.bytedeco.pytorch.MemoryFormatOptional()) : null;
      int status = NativeKernels.mla_latent_cache_attend_f32(null, splits[0],
          workspace == null ? null : new Pointer(workspace.data_ptr()), bytes[0], handles, b, layer, h, tq, dh,
          dim(p3, 0), zeroRow, (float) scale, ptr(qq), strides3(qq), ptr(ww), strides3(ww), ptr(p3), strides2(p3),
          ptr(z), strides3(z));
      FusedAttention.check("mla_latent_cache_attend_f32", status);
    }
    return z;
  }
}
