package dev.mha2mla.pipeline;

import dev.mha2mla.data.synth.Splits;
import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.model.Chunking;
import java.nio.file.Path;
import java.util.List;

/**
 * A pipeline run: the preset's sizes with any overrides, the inputs, and where results go. Null data paths
 * mean "synthesise a corpus".
 *
 * @param latentDim one latent size for every layer, or null
 * @param cacheBudget when latentDim is null: the share of the MHA cache the conversion keeps, ranks allocated per layer
 *     (null with latentDim null: r = d/2)
 * @param streaming fine-tune chunk-aware ({@code finetune --streaming}) instead of on whole utterances
 * @param streamChunks chunk sizes (frames) at which every model is also evaluated as a live stream
 * @param leftContext left context (frames) of those streams and of the chunk-aware fine-tune
 */
public record PipelineOptions(
    PipelinePreset preset,
    Path model,
    Path train,
    Path valid,
    Path test,
    Path results,
    Integer latentDim,
    Double cacheBudget,
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
    long evalEvery,
    boolean streaming,
    List<Integer> streamChunks,
    int leftContext) {

  /** The chunk sizes every model is streamed at unless told otherwise: 20, 80, 320 and 1280 ms. */
  public static final List<Integer> STREAM_CHUNKS = List.of(1, 4, 16, 64);

  public PipelineOptions {
    streamChunks = List.copyOf(streamChunks);
    if (streamChunks.isEmpty()) throw new IllegalArgumentException("--stream-chunks needs at least one chunk size");
    if (leftContext < 0) throw new IllegalArgumentException("--left-context must be 0 or more frames, got " + leftContext);
    for (int c : streamChunks) {
      if (c < 1) throw new IllegalArgumentException("--stream-chunks: a chunk must be at least 1 frame, got " + c);
      if ((long) c + leftContext > Chunking.MAX_WINDOW) {
        throw new IllegalArgumentException("--stream-chunks " + c + " + --left-context " + leftContext + " is more than 2^20 frames");
      }
    }
    if (latentDim != null && latentDim < 1) throw new IllegalArgumentException("--latent-dim must be at least 1, got " + latentDim);
    if (latentDim != null && cacheBudget != null) throw new IllegalArgumentException("give --latent-dim or --cache-budget, not both");
    if (cacheBudget != null) {  // the converter's own checks, before any step runs
      new dev.mha2mla.mla.ConversionOptions(1, method, whiten, whiten, 1e-4, device, true, List.of(), 0, 0, cacheBudget);
    }
    if (synthCount < 1) throw new IllegalArgumentException("--synth-count must be at least 1, got " + synthCount);
    if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
    if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
      throw new IllegalArgumentException("--lr must be a positive number, got " + learningRate);
    }
    atLeastZero("--train-utterances", trainLimit);
    atLeastZero("--eval-utterances", evalLimit);
    atLeastZero("--benchmark-utterances", benchmarkLimit);
    atLeastZero("--epochs", epochs);
    atLeastZero("--max-steps", maxSteps);
    atLeastZero("--patience", patience);
    atLeastZero("--eval-every", evalEvery);
  }

  private static void atLeastZero(String option, long value) {
    if (value < 0) throw new IllegalArgumentException(option + " must be 0 or more, got " + value);
  }

  public int latentDimOr(int dflt) {
    return latentDim == null ? dflt : latentDim;
  }

  /** Fractions of a synthesised corpus that go to train, validation and test. */
  public static final Splits SYNTH_SPLITS = new Splits(0.8, 0.1, 0.1);

  public String trainSource() {
    return train == null ? "a synthetic corpus made now" : train.toString();
  }

  public String testSource() {
    return test == null ? "its test split" : test.toString();
  }

  /** Training utterances per epoch: the limit, capped by a synthesised train split's size; 0 = all of a given set. */
  public int trainUtterances() {
    return used(train, 0, trainLimit);
  }

  /** Test utterances evaluated: the limit, capped by a synthesised test split's size; 0 = all of a given set. */
  public int testUtterances() {
    return used(test, 2, evalLimit);
  }

  private int used(Path given, int split, int limit) {
    if (given != null) return limit;
    int made = SYNTH_SPLITS.allocate(synthCount)[split];
    return limit > 0 ? Math.min(limit, made) : made;
  }

  /** Training utterances the run will see in total, for the duration estimate (max steps, when set, override epochs). */
  double trainBudgetUtterances() {
    if (maxSteps > 0) return maxSteps * (double) batchSize;
    int n = trainUtterances();
    return (n > 0 ? n : synthCount * SYNTH_SPLITS.train()) * epochs;
  }
}
