package dev.mha2mla.model;

import dev.mha2mla.kernels.StreamingCache;
import dev.mha2mla.kernels.TorchTensors;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * What one stream carries from chunk to chunk, per layer: the attention cache (K/V for MHA, the latent for MLA,
 * at most {@code leftContextFrames + chunkFrames} frames) and the convolution module's last (k-1)/2 gated frames.
 * Owns that native memory until {@link #close()}; the projected position tables it reads are the model's.
 * Not thread safe: one stream, one thread at a time.
 *
 * <p>Like the cache, the position tables grow with the stream rather than being sized by the left context: they
 * cover a span S of frames (S - 1 the longest distance back), starting at min(window, max(chunk, {@link #INITIAL_SPAN})) and
 * doubling, capped at the window, whenever a chunk's window would reach past S. A stream over a short recording
 * so holds memory for that recording, whatever left context it was opened with.
 */
public final class StreamState implements AutoCloseable {
  /** Frames the first position tables span (2.56 s). */
  public static final int INITIAL_SPAN = 128;

  private final StreamingCache cache;
  private final Tensor[] convContext;
  private List<Tensor> positions;
  private int span;
  private long framesSeen;
  private final int chunkFrames;
  private final int leftContextFrames;
  private boolean closed;

  StreamState(StreamingCache cache, Tensor[] convContext, int span, List<Tensor> positions, int chunkFrames,
      int leftContextFrames) {
    this.cache = cache;
    this.convContext = convContext;
    this.span = span;
    this.positions = positions;
    this.chunkFrames = chunkFrames;
    this.leftContextFrames = leftContextFrames;
  }

  /** Frames a window holds at most: chunk plus left context. */
  public int window() {
    return chunkFrames + leftContextFrames;
  }

  /** The frames the position tables cover now: distances up to span() - 1 back. */
  public int span() {
    return span;
  }

  /** Frames run through the stream so far. */
  public long framesSeen() {
    return framesSeen;
  }

  /**
   * The span the next chunk of {@code frames} frames needs, or the current one if it is enough: the window after
   * appending, min(window, seen + frames), rounded up by doubling.
   */
  int spanFor(int frames) {
    long needed = Math.min(window(), framesSeen + frames);
    if (needed <= span) return span;
    return (int) Math.min(window(), Math.max(needed, 2L * span));
  }

  void usePositions(int newSpan, List<Tensor> tables) {
    span = newSpan;
    positions = tables;
  }

  void advance(int frames) {
    framesSeen += frames;
  }

  public StreamingCache cache() {
    checkOpen();
    return cache;
  }

  /**
   * Layer {@code layer}'s projected relative positions: row zeroRow() - delta for every delta a chunk's query can
   * have to a frame of its window, from -(chunkFrames - 1) to span() - 1.
   */
  public Tensor positions(int layer) {
    return positions.get(layer);
  }

  /** The row of distance 0 in {@link #positions}: span() - 1. */
  public int zeroRow() {
    return span - 1;
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

  /** Bytes of attention cache this stream holds once its window is full (window frames, all layers). */
  public long cacheBytes() {
    return window() * cache().bytesPerFrame();
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
