package dev.mha2mla.train;

import java.util.SplittableRandom;

/**
 * Every random choice of training comes from a generator that is a pure function of (seed, purpose, index):
 * the batch order of epoch e, the SpecAugment masks and the chunk size of step s. Nothing carries over from one step to the next,
 * so a run resumed at step s draws exactly what an uninterrupted run draws there, and a checkpoint needs no
 * generator state beyond the seed and the step. {@link SplittableRandom}'s sequence is fixed by the JDK.
 */
public final class SeededStreams {
  /** Purposes, mixed into the seed so streams never overlap. */
  static final long EPOCH_ORDER = 0x6f72646572L;
  static final long STEP_MASKS = 0x6d61736b73L;
  static final long STEP_CHUNK = 0x6368756e6bL;

  private final long seed;

  public SeededStreams(long seed) {
    this.seed = seed;
  }

  public long seed() {
    return seed;
  }

  /** The generator for the batch order of {@code epoch}. */
  public SplittableRandom epochOrder(long epoch) {
    return stream(EPOCH_ORDER, epoch);
  }

  /** The generator for the masks of the update that follows {@code step} completed updates. */
  public SplittableRandom stepMasks(long step) {
    return stream(STEP_MASKS, step);
  }

  /** The generator for the chunk size of the update that follows {@code step} (chunk-aware training). */
  public SplittableRandom stepChunk(long step) {
    return stream(STEP_CHUNK, step);
  }

  private SplittableRandom stream(long purpose, long index) {
    return new SplittableRandom(mix(mix(seed ^ purpose) + index));
  }

  /** SplitMix64's finaliser: a bijection on longs that spreads nearby inputs far apart. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
