package dev.mha2mla.mla;

import dev.mha2mla.io.RunInfo;
import java.util.List;

/**
 * conversion.json: how a model was converted and what each layer lost. {@code latentDim} is the uniform size asked
 * for (null under a cache budget), {@code latentDims} what each layer got, {@code rankAllocation} why;
 * the MLA cache per frame per layer is the layers' mean r.
 */
public record ConversionReport(
    RunInfo run,
    String sourceModel,
    String method,
    Integer latentDim,
    Double cacheBudget,
    List<Integer> latentDims,
    String rankAllocation,
    int hiddenSize,
    boolean whitened,
    boolean balanced,
    double ridge,
    String svdBackend,
    String svdPrecision,
    int calibrationUtterances,
    long calibrationFrames,
    int heldOutUtterances,
    String outputErrorMeasuredOn,
    long cacheFloatsPerFramePerLayerMha,
    double cacheFloatsPerFramePerLayerMla,
    double cacheReduction,
    double totalSeconds,
    List<Layer> layers) {

  /**
   * One layer. Errors are relative Frobenius norms; null where no calibration audio was given.
   *
   * @param latentDim this layer's r
   * @param nextRankGain under a cache budget, the share of energy rank r + 1 would have kept (the allocation gave
   *     every rank whose gain exceeded the largest such value over layers); null for uniform r
   * @param relativeWeightError |[Wk;Wv] - W_up W_down| / |[Wk;Wv]|
   * @param kvErrorOnCalibration E|(W - W_up W_down) x|^2 / E|W x|^2 over the calibration frames
   * @param kvErrorOnCalibrationPlain the same for plain SVD (reported when whitening, for comparison)
   * @param relativeOutputError |attn_MLA(x) - attn_MHA(x)| / |attn_MHA(x)| on held-out audio
   * @param relativeOutputErrorPlain the same for plain SVD (reported when whitening)
   */
  public record Layer(
      int layer,
      int latentDim,
      Double nextRankGain,
      double energyKept,
      double relativeWeightError,
      Double kvErrorOnCalibration,
      Double kvErrorOnCalibrationPlain,
      Double relativeOutputError,
      Double relativeOutputErrorPlain,
      double keyScale,
      double seconds,
      String backend,
      double[] singularValues) {}
}
