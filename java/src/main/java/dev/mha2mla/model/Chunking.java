package dev.mha2mla.model;

/**
 * How a stream cuts an utterance's frames, and so what every frame may see. Frames are run in consecutive chunks of
 * {@code chunkFrames} (the last one may be shorter). A frame i of a sequence of T frames belongs to the chunk ending at
 * {@code end(i) = min(T, (floor(i / C) + 1) C)}; its attention sees the keys of the window
 * {@code [end(i) - (C + L), end(i))}, which is exactly what a cache of C + L frames holds after the chunk was appended
 * (so a last, shorter chunk sees a little more than L frames of the past); each depthwise convolution sees its
 * (k-1)/2 past frames and zeros at and after {@code end(i)}. Everything else in the network acts frame by frame.
 * Streaming inference ({@code RecognizerStream}) and chunk-aware training ({@code ConformerCtcModel.forward} with a
 * chunking) both follow this one definition, which is why they compute the same logits.
 *
 * @param chunkFrames C, frames per chunk (at least 1)
 * @param leftContextFrames L, the earlier frames a chunk attends to (at least 0)
 */
public record Chunking(int chunkFrames, int leftContextFrames) {
  /** The most frames a window may hold: chunk plus left context. */
  public static final int MAX_WINDOW = 1 << 20;

  public Chunking {
    if (chunkFrames < 1) throw new IllegalArgumentException("chunk must be at least 1 frame, got " + chunkFrames);
    if (leftContextFrames < 0) {
      throw new IllegalArgumentException("left context must be 0 or more frames, got " + leftContextFrames);
    }
    if ((long) chunkFrames + leftContextFrames > MAX_WINDOW) {
      throw new IllegalArgumentException("chunk + left context of " + ((long) chunkFrames + leftContextFrames)
          + " frames is more than 2^20");
    }
  }

  /** Frames a stream's cache holds per layer: C + L. */
  public int window() {
    return chunkFrames + leftContextFrames;
  }

  /** end(i): one past the last frame of the chunk holding frame i, in a sequence of {@code length} frames. */
  public long chunkEnd(long frame, long length) {
    return Math.min(length, (frame / chunkFrames + 1) * chunkFrames);
  }

  /** The first frame frame i attends to: max(0, end(i) - C - L). */
  public long windowStart(long frame, long length) {
    return Math.max(0, chunkEnd(frame, length) - window());
  }
}
