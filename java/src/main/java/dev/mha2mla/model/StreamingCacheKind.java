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
   * 2-core CPU the latent cache wins at 1 frame per chunk and loses from 4 (flagship shape, cache 2000); on an H200
   * it wins at every chunk measured, 1 to 32 frames, by 2.1-3.4x, and loses on whole utterances
   * (benchmarks/results/gpu/2026-12-04-h200).
   */
  public static StreamingCacheKind fastest(boolean latentAvailable, int chunkFrames, boolean cuda) {
    if (!latentAvailable) return KEY_VALUE;
    boolean latentWins = cuda ? chunkFrames <= 32 : chunkFrames <= 2;
    return latentWins ? LATENT : KEY_VALUE;
  }
}
