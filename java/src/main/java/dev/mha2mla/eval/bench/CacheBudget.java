package dev.mha2mla.eval.bench;

import dev.mha2mla.model.SelfAttention;

/**
 * Streaming cache arithmetic: bytes per frame per layer, per stream, and how many concurrent streams fit a
 * memory budget. A stream keeps {@code window} past frames in every layer:
 *
 * <pre>
 *   bytes per stream = layers x window x bytes per frame per layer
 *   streams          = floor(budget / bytes per stream)
 * </pre>
 *
 * Flagship (24 layers, d = 1024, r = 512), 1 GiB at a 1500-frame (30 s) window: K/V 8192 B per frame per layer,
 * 295 MB per stream, 3 streams; latent 2048 B, 74 MB, 14 streams.
 */
public final class CacheBudget {
  private CacheBudget() {}

  /** Bytes a layer must cache per frame, from the block itself: {@link SelfAttention#cacheFloatsPerFrame()} x 4. */
  public static long bytesPerFrame(SelfAttention block) {
    return 4 * block.cacheFloatsPerFrame();
  }

  public static long bytesPerStream(long bytesPerFramePerLayer, int layers, long windowFrames) {
    if (bytesPerFramePerLayer < 1 || layers < 1 || windowFrames < 1) {
      throw new IllegalArgumentException("bytes per frame, layers and window must be >= 1");
    }
    return Math.multiplyExact(Math.multiplyExact(bytesPerFramePerLayer, (long) layers), windowFrames);
  }

  /** Streams whose caches fit in {@code budgetBytes} together. */
  public static long streamsWithin(long budgetBytes, long bytesPerFramePerLayer, int layers, long windowFrames) {
    return budgetBytes / bytesPerStream(bytesPerFramePerLayer, layers, windowFrames);
  }
}
