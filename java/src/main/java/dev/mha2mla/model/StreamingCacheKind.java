package dev.mha2mla.model;

/**
 * What a stream caches per frame and layer. KEY_VALUE: K and V of every head (2d floats), attended like MHA;
 * the only kind an MHA model has, and an MLA model can expand its latent into it. LATENT: an MLA model's latent
 * c (r floats, 4x smaller at r = d/2), attended in the absorbed form, which does r/dh times more arithmetic per
 * cached frame and so wins only for short chunks (DESIGN.md section 3).
 */
public enum StreamingCacheKind {
  KEY_VALUE,
  LATENT;

  /**
   * The faster kind for chunks of {@code chunkFrames} frames, measured (benchmarks/results/RESULTS.md): on this
   * 2-core CPU the latent cache wins at 1 frame per chunk and loses from 4 (flagship shape, cache 2000); DESIGN.md's
   * GPU estimate puts the crossover at heads x chunk of about 100.
   */
  public static StreamingCacheKind fastest(boolean latentAvailable, int chunkFrames, int heads, boolean cuda) {
    if (!latentAvailable) return KEY_VALUE;
    boolean latentWins = cuda ? (long) heads * chunkFrames <= 100 : chunkFrames <= 2;
    return latentWins ? LATENT : KEY_VALUE;
  }
}
