package dev.mha2mla;

/**
 * How a {@link RecognizerStream} cuts audio: encoder frames (20 ms each at the usual 320-sample stride) are run
 * through the network {@code chunkFrames} at a time, each chunk attending to itself and at most
 * {@code leftContextFrames} earlier frames. A model trained on whole utterances sees no future beyond its chunk
 * when streamed, so smaller chunks answer sooner and make more errors; {@code mha2mla evaluate --stream-chunk}
 * measures how many.
 *
 * @param chunkFrames frames per network call (latency: chunkFrames x 20 ms plus compute)
 * @param leftContextFrames the most earlier frames a chunk attends to; cache memory grows with it
 */
public record StreamOptions(int chunkFrames, int leftContextFrames) {
  /** 16 frames (0.32 s) per chunk over up to 512 frames (10.2 s) of left context. */
  public static final StreamOptions DEFAULT = new StreamOptions(16, 512);

  public StreamOptions {
    if (chunkFrames < 1) throw new IllegalArgumentException("chunk must be at least 1 frame, got " + chunkFrames);
    if (leftContextFrames < 0) {
      throw new IllegalArgumentException("left context must be 0 or more frames, got " + leftContextFrames);
    }
    if ((long) chunkFrames + leftContextFrames > 1 << 20) {
      throw new IllegalArgumentException("chunk + left context of " + ((long) chunkFrames + leftContextFrames)
          + " frames is more than 2^20");
    }
  }
}
