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
 * @param streaming whether the fine-tune is chunk-aware by default
 */
public record PipelinePreset(String name, int synthUtterances, int trainUtterances, int evalUtterances,
    int benchmarkUtterances, int epochs, long maxSteps, int batchSize, double learningRate, int patience, long evalEvery,
    Double cacheBudget, boolean streaming) {

  /**
   * Minutes on 2 CPU cores with the shipped small model. It shows a conversion's cost and its recovery: at 1/32 of the
   * MHA cache the shipped model loses about 10 points of WER and 300 whole-utterance updates of its attention win most
   * of them back (benchmarks/results/frontier); a chunk-aware fine-tune needs thousands of updates before it helps
   * whole utterances or streams (the shipped streaming model took 25,000), so quick fine-tunes whole utterances.
   */
  public static final PipelinePreset QUICK = new PipelinePreset("quick", 600, 1000, 100, 50, 3, 300, 8, 3e-4, 3, 75,
      0.03125, false);

  /** Every test utterance, all training data, up to 10 epochs with early stopping, chunk-aware so the model streams. */
  public static final PipelinePreset FULL = new PipelinePreset("full", 3000, 0, 0, 200, 10, 0, 8, 1e-4, 3, 500, null, true);

  public static PipelinePreset named(String name) {
    return switch (name) {
      case "quick" -> QUICK;
      case "full" -> FULL;
      default -> throw new IllegalArgumentException("preset must be quick or full, got '" + name + "'");
    };
  }
}
