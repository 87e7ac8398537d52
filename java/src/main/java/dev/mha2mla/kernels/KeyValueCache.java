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
 * Streaming cache of expanded keys and values (MHA, and expanded MLA: the baseline the latent cache is measured
 * against): per frame and layer K and V of every head, 2 * H * dh floats, and attention of a chunk's queries over
 * them ({@link FusedAttention#relposAttention} over the window).
 *
 * <pre>{@code
 * try (KeyValueCache cache = KeyValueCache.create(new Device("cpu"), layers, heads, headDim, leftContext + chunk)) {
 *   cache.append(l, k, v);                                 // k, v [1, H, T, dh], e.g. views of [1, T, H, dh]
 *   Tensor out = cache.attend(l, q, p, u, w, zeroRow, scale);  // q [1, H, T, dh] -> [1, H, T, dh]
 * }
 * }</pre>
 * p rows as in {@link LatentCache}.
 */
public final class KeyValueCache extends StreamingCache {
  private final int heads;
  private final int headDim;

  private KeyValueCache(NativeKernels.mla_cache handle, boolean cuda, int layers, int heads, int headDim, int maxFrames) {
    super(handle, cuda, layers, maxFrames);
    this.heads = heads;
    this.headDim = headDim;
  }

  /** A cache of {@code layers} layers of {@code maxFrames} frames of K and V, on a CPU or the current CUDA device. */
  public static KeyValueCache create(Device device, int layers, int heads, int headDim, int maxFrames) {
    int dev = nativeDevice(device);
    NativeKernels.mla_cache h = create("mla_kv_cache_create",
        c -> NativeKernels.mla_kv_cache_create(c, dev, layers, heads, headDim, maxFrames));
    return new KeyValueCache(h, device.is_cuda(), layers, heads, headDim, maxFrames);
  }

  public int heads() {
    return heads;
  }

  public int headDim() {
    return headDim;
  }

  /** Appends a chunk's keys and values, k and v [1, H, T, dh] float32 on the cache's device (any strides but the last). */
  public void append(int layer, Tensor k, Tensor v) {
    checkLayer(layer);
    checkDevice(k, "k");
    checkDevice(v, "v");
    int t = dim(k, 2);
    expect(k, "k", 1, heads, t, headDim);
    expect(v, "v", 1, heads, t, headDim);
    try (PointerScope scope = new PointerScope()) {
      Tensor kk = lastDimContiguous(floats(k, "k"));
      Tensor vv = lastDimContiguous(floats(v, "v"));
      FusedAttention.check("mla_kv_cache_append_f32", NativeKernels.mla_kv_cache_append_f32(handle(), null, layer, t,
          ptr(kk), new long[] {kk.stride(2), kk.stride(1)}, ptr(vv), new long[] {vv.stride(2), vv.stride(1)}));
    }
  }

  /**
   * The chunk's attention over this cache's window: out_i = sum_j softmax_j(((q_i + u).k_j + (q_i + w).p[zeroRow - delta]) * scale) v_j.
   *
   * @param q [1, H, T, dh]; p [P, H*dh] or [P, H, dh]; u, w [H, dh]
   * @return [1, H, T, dh]
   */
  public Tensor attend(int layer, Tensor q, Tensor p, Tensor u, Tensor w, int zeroRow, double scale) {
    return attend(List.of(this), layer, q, p, u, w, zeroRow, scale);
  }

  /** One attend over a batch of sessions, caches.get(b) for batch row b: q [B, H, T, dh]; returns [B, H, T, dh]. */
  public static Tensor attend(List<KeyValueCache> caches, int layer, Tensor q, Tensor p, Tensor u, Tensor w, int zeroRow,
      double scale) {
    if (caches.isEmpty()) throw new IllegalArgumentException("no caches to attend over");
    KeyValueCache first = caches.get(0);
    int b = dim(q, 0), tq = dim(q, 2);
    if (b != caches.size()) throw new IllegalArgumentException("q has " + b + " sessions for " + caches.size() + " caches");
    int h = first.heads, dh = first.headDim;
    expect(q, "q", b, h, tq, dh);
    Tensor out = torch.empty(new long[] {b, h, tq, dh}, q.options(), new org.bytedeco.pytorch.MemoryFormatOptional());
    try (PointerScope scope = new PointerScope()) {
      PointerPointer<NativeKernels.mla_cache> handles = handles(caches, layer, tq, q, p, u, w);
      Tensor p3 = FusedAttention.positions(p, h, dh);
      Tensor u2 = floats(u, "u").contiguous();
      Tensor w2 = floats(w, "w").contiguous();
      expect(u2, "u", h, dh);
      expect(w2, "w", h, dh);
      Tensor qq = lastDimContiguous(floats(q, "q"));
      int[] splits = {0};
      long[] bytes = {0};
      FusedAttention.check("mla_cache_attend_plan", NativeKernels.mla_cache_attend_plan(handles, b, layer, h, tq, splits, bytes));
      Tensor workspace = bytes[0] > 0 ? torch.empty(new long[] {(bytes[0] + 3) / 4}, qq.options(),
          new org.bytedeco.pytorch.MemoryFormatOptional()) : null;
      int status = NativeKernels.mla_kv_cache_attend_f32(null, splits[0],
          workspace == null ? null : new Pointer(workspace.data_ptr()), bytes[0], handles, b, layer, tq, dim(p3, 0),
          zeroRow, (float) scale, ptr(qq), strides3(qq), ptr(p3), strides2(p3), ptr(u2), ptr(w2), ptr(out),
          strides3(out));
      FusedAttention.check("mla_kv_cache_attend_f32", status);
    }
    return out;
  }
}
