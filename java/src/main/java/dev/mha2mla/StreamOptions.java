package dev.mha2mla;

import dev.mha2mla.model.Chunking;
import dev.mha2mla.model.StreamingCacheKind;
import dev.mha2mla.model.WaveformStatistics;

/**
 * How a {@link RecognizerStream} cuts audio: encoder frames (20 ms each at the usual 320-sample stride) are run
 * through the network {@code chunkFrames} at a time, each chunk attending to itself and at most
 * {@code leftContextFrames} earlier frames ({@link Chunking} defines exactly what each frame sees). A model trained on
 * whole utterances sees no future beyond its chunk when streamed, so smaller chunks answer sooner and make more errors;
 * {@code mha2mla evaluate --stream-chunk} measures how many, and {@code finetune --streaming} trains a model for it.
 *
 * <p>{@code cache} picks what is cached per frame: {@link StreamingCacheKind#LATENT} (MLA models only: r floats, the
 * memory saving, absorbed attention), {@link StreamingCacheKind#KEY_VALUE} (2d floats, MHA-style attention), or null
 * for whichever is faster for the chunk size on the model's device ({@link StreamingCacheKind#fastest}): on a CPU the
 * latent for chunks of 1-2 frames, K/V from there on.
 *
 * <p>{@code normalization}: the fixed waveform statistics of a model that normalises each utterance
 * ({@code do_normalize}); null takes those its folder records (see {@link WaveformStatistics}).
 *
 * @param chunkFrames frames per network call (latency: chunkFrames x 20 ms plus compute)
 * @param leftContextFrames the most earlier frames a chunk attends to; cache memory grows with it
 * @param cache what to cache, null for the faster kind
 */
public record StreamOptions(int chunkFrames, int leftContextFrames, StreamingCacheKind cache,
    WaveformStatistics normalization) {
  /** 16 frames (0.32 s) per chunk over up to 512 frames (10.2 s) of left context, the faster cache. */
  public static final StreamOptions DEFAULT = new StreamOptions(16, 512);

  /** The faster cache kind for the chunk size. */
  public StreamOptions(int chunkFrames, int leftContextFrames) {
    this(chunkFrames, leftContextFrames, null);
  }

  public StreamOptions(int chunkFrames, int leftContextFrames, StreamingCacheKind cache) {
    this(chunkFrames, leftContextFrames, cache, null);
  }

  public StreamOptions {
    new Chunking(chunkFrames, leftContextFrames);  // checks the sizes
  }

  /** These options with fixed waveform statistics for a do_normalize model. */
  public StreamOptions withNormalization(WaveformStatistics statistics) {
    return new StreamOptions(chunkFrames, leftContextFrames, cache, statistics);
  }

  /** What each frame of such a stream sees. */
  public Chunking chunking() {
    return new Chunking(chunkFrames, leftContextFrames);
  }

  /** The cache kind these options give a model with (or without) a latent, on CPU or CUDA. */
  public StreamingCacheKind cacheKind(boolean latentAvailable, boolean cuda) {
    if (cache == null) return StreamingCacheKind.fastest(latentAvailable, chunkFrames, cuda);
    if (cache == StreamingCacheKind.LATENT && !latentAvailable) {
      throw new IllegalArgumentException("a LATENT cache needs an MLA model; this one is MHA");
    }
    return cache;
  }
}
