package dev.mha2mla.model;

import dev.mha2mla.kernels.StreamingCache;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * What one stream carries from chunk to chunk, per layer: the attention cache (K/V for MHA, the latent for MLA,
 * at most {@code leftContextFrames + chunkFrames} frames) and the convolution module's last (k-1)/2 gated frames.
 * Owns that native memory until {@link #close()}; the projected position tables it reads are the model's.
 * Not thread safe: one stream, one thread at a time.
 */
public final class StreamState implements AutoCloseable {
  private final StreamingCache cache;
  private final Tensor[] convContext;
  private final List<Tensor> positions;
  private final int chunkFrames;
  private final int leftContextFrames;
  private boolean closed;

  StreamState(StreamingCache cache, Tensor[] convContext, List<Tensor> positions, int chunkFrames, int leftContextFrames) {
    this.cache = cache;
    this.convContext = convContext;
    this.positions = positions;
    this.chunkFrames = chunkFrames;
    this.leftContextFrames = leftContextFrames;
  }

  public StreamingCache cache() {
    checkOpen();
    return cache;
  }

  /**
   * Layer {@code layer}'s projected relative positions: row zeroRow() - delta for every delta a chunk's query can
   * have to a frame of its window, from -(chunkFrames - 1) to window - 1.
   */
  public Tensor positions(int layer) {
    return positions.get(layer);
  }

  /** The row of distance 0 in {@link #positions}: window - 1. */
  public int zeroRow() {
    return leftContextFrames + chunkFrames - 1;
  }

  public int chunkFrames() {
    return chunkFrames;
  }

  public int leftContextFrames() {
    return leftContextFrames;
  }

  Tensor convContext(int layer) {
    checkOpen();
    return convContext[layer];
  }

  void setConvContext(int layer, Tensor context) {
    checkOpen();
    Tensor old = convContext[layer];
    convContext[layer] = TorchTensors.keep(context);
    old.close();
  }

  /** Bytes of attention cache this stream holds (frames of the full window, all layers). */
  public long cacheBytes() {
    return cache().bytes();
  }

  private void checkOpen() {
    if (closed) throw new IllegalStateException("the stream is closed");
  }

  /** Frees the cache and the convolution contexts now; closing twice is fine. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    cache.close();
    for (Tensor t : convContext) t.close();
  }
}
