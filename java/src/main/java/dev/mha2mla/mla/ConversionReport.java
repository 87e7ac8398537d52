package dev.mha2mla.mla;

import dev.mha2mla.io.RunInfo;
import java.util.List;

/** conversion.json: how a model was converted and what each layer lost. */
public record ConversionReport(
    RunInfo run,
    String sourceModel,
    String method,
    int latentDim,
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
    long cacheFloatsPerFramePerLayerMla,
    double cacheReduction,
    double totalSeconds,
    List<Layer> layers) {

  /**
   * One layer. Errors are relative Frobenius norms; null where no calibration audio was given.
   *
   * @param relativeWeightError |[Wk;Wv] - W_up W_down| / |[Wk;Wv]|
   * @param kvErrorOnCalibration E|(W - W_up W_down) x|^2 / E|W x|^2 over the calibration frames
   * @param kvErrorOnCalibrationPlain the same for plain SVD (reported when whitening, for comparison)
   * @param relativeOutputError |attn_MLA(x) - attn_MHA(x)| / |attn_MHA(x)| on held-out audio
   * @param relativeOutputErrorPlain the same for plain SVD (reported when whitening)
   */
  public record Layer(
      int layer,
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
