package dev.mha2mla.mla;

/** How the K and V projections are factored into a latent. */
public enum ConversionMethod {
  /** One SVD of [Wk; Wv]: a single latent of r values feeds both K and V (DESIGN.md section 2). */
  JOINT,
  /** Separate SVDs of Wk and Wv, r/2 values each (the comparison point); stored in the same latent layout. */
  SPLIT;

  /** Largest latent size that still adds information: rank [Wk; Wv] <= d for joint, d + d for split. */
  public long maxLatentDim(long hidden) {
    return this == JOINT ? hidden : 2 * hidden;
  }
}
