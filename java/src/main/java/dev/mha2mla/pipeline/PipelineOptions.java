package dev.mha2mla.pipeline;

import dev.mha2mla.mla.ConversionMethod;
import java.nio.file.Path;

/**
 * A pipeline run: the preset's sizes with any overrides, the inputs, and where results go. Null data paths
 * mean "synthesise a corpus".
 */
public record PipelineOptions(
    PipelinePreset preset,
    Path model,
    Path train,
    Path valid,
    Path test,
    Path results,
    Integer latentDim,
    ConversionMethod method,
    boolean whiten,
    String device,
    long seed,
    int synthCount,
    int trainLimit,
    int evalLimit,
    int benchmarkLimit,
    int epochs,
    long maxSteps,
    int batchSize,
    double learningRate,
    int patience,
    long evalEvery) {

  public int latentDimOr(int dflt) {
    return latentDim == null ? dflt : latentDim;
  }

  public String trainSource() {
    return train == null ? "a synthetic corpus made now" : train.toString();
  }

  public String testSource() {
    return test == null ? "its test split" : test.toString();
  }

  /** Training utterances the run will see in total, for the duration estimate. */
  double trainBudgetUtterances() {
    double perEpoch = trainLimit > 0 ? trainLimit : synthCount * 0.8;
    return maxSteps > 0 ? Math.min(maxSteps * (double) batchSize, perEpoch * epochs) : perEpoch * epochs;
  }
}
