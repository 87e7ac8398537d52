package dev.mha2mla.mla;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link MlaConverter} does.
 *
 * @param latentDim r, floats cached per frame per layer (1..d for joint, 2..2d for split), when no cache budget is set
 * @param cacheBudget null, or the share F of the MHA cache to keep: the layers' ranks are allocated so that
 *     sum_l r_l = F * 2d * L with the least predicted error ({@link RankAllocation}; joint only)
 * @param whiten factor W C^1/2 with C from calibration audio instead of W alone
 * @param balance scale K against V by their energy on calibration audio before factoring
 * @param ridge C + ridge * mean(diag C) * I keeps the Cholesky factor well conditioned
 * @param svdDevice "cpu" (LibTorch) or "cuda" (cuSOLVER)
 * @param calibration audio files; the first calibrationUtterances build C, up to heldOutUtterances after them measure errors
 */
public record ConversionOptions(
    int latentDim,
    ConversionMethod method,
    boolean whiten,
    boolean balance,
    double ridge,
    String svdDevice,
    boolean float64Svd,
    List<Path> calibration,
    int calibrationUtterances,
    int heldOutUtterances,
    Double cacheBudget) {

  public ConversionOptions {
    if (cacheBudget != null && !(cacheBudget > 0 && cacheBudget <= 0.5)) {
      throw new IllegalArgumentException("--cache-budget must be a share of the MHA cache in (0, 0.5], got " + cacheBudget
          + " (0.5 keeps r = d per layer, the most a joint latent can use)");
    }
    if (cacheBudget != null && method != ConversionMethod.JOINT) {
      throw new IllegalArgumentException("--cache-budget allocates ranks on the joint SVD's spectrum: use --method joint");
    }
  }

  public static ConversionOptions plain(int latentDim, ConversionMethod method) {
    return new ConversionOptions(latentDim, method, false, false, 1e-4, "cpu", true, List.of(), 0, 0, null);
  }

  /** These options with the layers' ranks allocated under a cache budget F instead of one latentDim. */
  public ConversionOptions withCacheBudget(Double budget) {
    return new ConversionOptions(latentDim, method, whiten, balance, ridge, svdDevice, float64Svd, calibration,
        calibrationUtterances, heldOutUtterances, budget);
  }
}
