package dev.mha2mla.mla;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link MlaConverter} does. {@link #builder} names each value and starts from the defaults of
 * {@code mha2mla convert}.
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

  /** Calibration utterances that build the covariance, and held-out ones after them that measure errors. */
  public static final int CALIBRATION_UTTERANCES = 32;
  public static final int HELD_OUT_UTTERANCES = 8;
  public static final double RIDGE = 1e-4;

  /** Plain SVD of the weights (no calibration audio), float64 on the CPU. */
  public static ConversionOptions plain(int latentDim, ConversionMethod method) {
    return builder(latentDim, method).balance(false).calibrationUtterances(0).heldOutUtterances(0).build();
  }

  /** These options with the layers' ranks allocated under a cache budget F instead of one latentDim. */
  public ConversionOptions withCacheBudget(Double budget) {
    return new ConversionOptions(latentDim, method, whiten, balance, ridge, svdDevice, float64Svd, calibration,
        calibrationUtterances, heldOutUtterances, budget);
  }

  /**
   * r floats per frame per layer by {@code method}. Defaults: no whitening; K/V balance on (it acts only with
   * calibration audio); ridge {@link #RIDGE}; float64 SVD on the CPU; no calibration audio;
   * {@link #CALIBRATION_UTTERANCES} and {@link #HELD_OUT_UTTERANCES}; no cache budget.
   */
  public static Builder builder(int latentDim, ConversionMethod method) {
    return new Builder(latentDim, method);
  }

  public static final class Builder {
    private final int latentDim;
    private final ConversionMethod method;
    private boolean whiten;
    private boolean balance = true;
    private double ridge = RIDGE;
    private String svdDevice = "cpu";
    private boolean float64Svd = true;
    private List<Path> calibration = List.of();
    private int calibrationUtterances = CALIBRATION_UTTERANCES;
    private int heldOutUtterances = HELD_OUT_UTTERANCES;
    private Double cacheBudget;

    private Builder(int latentDim, ConversionMethod method) {
      this.latentDim = latentDim;
      this.method = method;
    }

    public Builder whiten(boolean v) { whiten = v; return this; }
    public Builder balance(boolean v) { balance = v; return this; }
    public Builder ridge(double v) { ridge = v; return this; }
    public Builder svdDevice(String v) { svdDevice = v; return this; }
    public Builder float64Svd(boolean v) { float64Svd = v; return this; }
    public Builder calibration(List<Path> v) { calibration = List.copyOf(v); return this; }
    public Builder calibrationUtterances(int v) { calibrationUtterances = v; return this; }
    public Builder heldOutUtterances(int v) { heldOutUtterances = v; return this; }
    public Builder cacheBudget(Double v) { cacheBudget = v; return this; }

    public ConversionOptions build() {
      return new ConversionOptions(latentDim, method, whiten, balance, ridge, svdDevice, float64Svd, calibration,
          calibrationUtterances, heldOutUtterances, cacheBudget);
    }
  }
}
