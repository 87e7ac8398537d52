package dev.mha2mla.pipeline;

/**
 * Default sizes of a pipeline run. Every value can be overridden by a flag.
 *
 * @param synthUtterances size of the synthetic corpus made when no data is given
 * @param trainUtterances training utterances for fine-tuning (0 = all)
 * @param evalUtterances test utterances scored per model (0 = all)
 * @param benchmarkUtterances test utterances timed per model
 * @param epochs passes over the training subset (early stopping may end sooner)
 * @param maxSteps cap on fine-tuning updates (0 = from epochs)
 * @param cacheBudget the conversion's default share of the MHA cache (ranks allocated per layer), or null for r = d/2
 */
public record PipelinePreset(String name, int synthUtterances, int trainUtterances, int evalUtterances,
    int benchmarkUtterances, int epochs, long maxSteps, int batchSize, double learningRate, int patience, long evalEvery,
    Double cacheBudget) {

  /** Minutes on 2 CPU cores with the shipped small model; 1000/100/50 utterances as the original pipeline for real models. */
  public static final PipelinePreset QUICK = new PipelinePreset("quick", 600, 1000, 100, 50, 3, 240, 8, 3e-4, 3, 80, 0.0625);

  /** Every test utterance, all training data, up to 10 epochs with early stopping. */
  public static final PipelinePreset FULL = new PipelinePreset("full", 3000, 0, 0, 200, 10, 0, 8, 1e-4, 3, 500, null);

  public static PipelinePreset named(String name) {
    return switch (name) {
      case "quick" -> QUICK;
      case "full" -> FULL;
      default -> throw new IllegalArgumentException("preset must be quick or full, got '" + name + "'");
    };
  }
}
