package dev.mha2mla.kernels;

import java.util.List;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;

/**
 * One streaming session's attention cache in native memory (entry point 3 of {@code mha2mla.h}): per layer, the
 * most recent frames, at most {@link #maxFrames()} of them; appending more drops the oldest. Frames keep absolute
 * positions counted from creation or {@link #reset()}, so relative positions stay exact past evictions.
 *
 * <p>Per chunk and layer: append the chunk's frames, then attend the chunk's queries; they sit at the last
 * positions of the window and see all of it (chunked attention). {@code maxFrames} counts the chunk itself: for L
 * frames of left context in chunks of C, create with L + C.
 *
 * <p>Memory grows with the frames appended, not with {@code maxFrames}: 128 frames' worth on creation, doubled (at
 * most to {@code maxFrames}) when an append would not fit; {@link #close()} frees it at once (no finalizer does it
 * for you). A cache is not thread safe. CUDA caches live on the current CUDA device and take CUDA tensors.
 */
public abstract sealed class StreamingCache implements AutoCloseable permits LatentCache, KeyValueCache {
  private NativeKernels.mla_cache handle;  // null once closed
  private final boolean cuda;
  private final int layers;
  private final int maxFrames;

  StreamingCache(NativeKernels.mla_cache handle, boolean cuda, int layers, int maxFrames) {
    this.handle = handle;
    this.cuda = cuda;
    this.layers = layers;
    this.maxFrames = maxFrames;
  }

  /** Runs a native create call on a fresh handle; the handle on success, else a {@link KernelException}. */
  static NativeKernels.mla_cache create(String call, java.util.function.ToIntFunction<NativeKernels.mla_cache> create) {
    NativeKernels.mla_cache h = new NativeKernels.mla_cache();
    FusedAttention.check(call, create.applyAsInt(h));
    if (h.isNull()) throw new IllegalStateException(call + " returned no cache");
    return h;
  }

  static int nativeDevice(Device device) {
    return device.is_cuda() ? NativeKernels.MLA_DEVICE_CUDA : NativeKernels.MLA_DEVICE_CPU;
  }

  public final int layers() {
    return layers;
  }

  /** The most frames a layer keeps (the window, chunk included). */
  public final int maxFrames() {
    return maxFrames;
  }

  public final boolean isCuda() {
    return cuda;
  }

  /** Bytes per frame of context over all layers: 4 * layers * width (r, or 2 * H * dh). Reports quote this. */
  public final long bytesPerFrame() {
    return NativeKernels.mla_cache_bytes_per_frame(handle());
  }

  /** Bytes the cache holds now: the frames allocated so far (at most {@code maxFrames()}) times {@link #bytesPerFrame()}. */
  public final long bytes() {
    return NativeKernels.mla_cache_bytes(handle());
  }

  /** Frames in the layer's window now. */
  public final int frames(int layer) {
    checkLayer(layer);
    return NativeKernels.mla_cache_frames(handle(), layer);
  }

  /** Absolute position of the layer's oldest frame (frames dropped so far). */
  public final long firstPosition(int layer) {
    checkLayer(layer);
    return NativeKernels.mla_cache_first_position(handle(), layer);
  }

  /** Forgets every frame of every layer; positions restart at 0. Keeps the memory. */
  public final void reset() {
    FusedAttention.check("mla_cache_reset", NativeKernels.mla_cache_reset(handle()));
  }

  public final boolean isClosed() {
    return handle == null;
  }

  /** Frees the native memory now. Closing twice is fine; any other use after closing throws. */
  @Override
  public final void close() {
    if (handle != null) {
      NativeKernels.mla_cache_destroy(handle);
      handle = null;
    }
  }

  final NativeKernels.mla_cache handle() {
    if (handle == null) throw new IllegalStateException("the " + getClass().getSimpleName() + " is closed");
    return handle;
  }

  final void checkLayer(int layer) {
    if (layer < 0 || layer >= layers) throw new IndexOutOfBoundsException("layer " + layer + " of " + layers);
  }

  final void checkDevice(Tensor t, String name) {
    if (t.is_cuda() != cuda) {
      throw new IllegalArgumentException(name + " is on " + (t.is_cuda() ? "CUDA" : "the CPU") + " but the cache is on "
          + (cuda ? "CUDA" : "the CPU"));
    }
  }

  /** The handles of a batch of caches of one kind, for the native attend calls; the first cache checks them all. */
  static PointerPointer<NativeKernels.mla_cache> handles(List<? extends StreamingCache> caches, int layer, int queries,
      Tensor... inputs) {
    if (caches.isEmpty()) throw new IllegalArgumentException("no caches to attend over");
    PointerPointer<NativeKernels.mla_cache> handles = new PointerPointer<>(caches.size());
    for (int b = 0; b < caches.size(); b++) {
      StreamingCache c = caches.get(b);
      c.checkLayer(layer);
      for (int i = 0; i < inputs.length; i++) c.checkDevice(inputs[i], "input " + i);
      int frames = c.frames(layer);
      if (frames < queries) {
        throw new IllegalArgumentException(queries + " queries but layer " + layer + " of cache " + b + " holds " + frames
            + " frames: append the chunk before attending its queries");
      }
      handles.put(b, c.handle());
    }
    return handles;
  }
}
