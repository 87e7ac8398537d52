package dev.mha2mla.mla;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link MlaConverter} does.
 *
 * @param latentDim r, floats cached per frame per layer (1..d for joint, 2..2d for split)
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
    int heldOutUtterances) {

  public static ConversionOptions plain(int latentDim, ConversionMethod method) {
    return new ConversionOptions(latentDim, method, false, false, 1e-4, "cpu", true, List.of(), 0, 0);
  }
}
