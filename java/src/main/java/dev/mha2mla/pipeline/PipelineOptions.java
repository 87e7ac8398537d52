package dev.mha2mla.pipeline;

import dev.mha2mla.data.synth.Splits;
import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.model.Chunking;
import java.nio.file.Path;
import java.util.List;

/**
 * A pipeline run: the preset's sizes with any overrides, the inputs, and where results go. Null data paths
 * mean "synthesise a corpus". Build one with {@link #builder}, which starts from a preset's values.
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
      dev.mha2mla.mla.ConversionOptions.builder(1, method).cacheBudget(cacheBudget).build();
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

  /** A run of {@code preset} on {@code model}, results in {@code results}; every other value from the preset. */
  public static Builder builder(PipelinePreset preset, Path model, Path results) {
    return new Builder(preset, model, results);
  }

  /**
   * Options by name. Defaults: the preset's sizes; a synthesised corpus; joint SVD without whitening on the CPU;
   * seed 1; the preset's cache budget unless a latent size, another method or {@link #cacheBudget} says otherwise;
   * streams at {@link #STREAM_CHUNKS} with 512 frames of left context.
   */
  public static final class Builder {
    private final PipelinePreset preset;
    private final Path model;
    private final Path results;
    private Path train;
    private Path valid;
    private Path test;
    private Integer latentDim;
    private Double cacheBudget;
    private boolean cacheBudgetGiven;
    private ConversionMethod method = ConversionMethod.JOINT;
    private boolean whiten;
    private String device = "cpu";
    private long seed = 1;
    private int synthCount;
    private int trainLimit;
    private int evalLimit;
    private int benchmarkLimit;
    private int epochs;
    private long maxSteps;
    private int batchSize;
    private double learningRate;
    private int patience;
    private long evalEvery;
    private boolean streaming;
    private List<Integer> streamChunks = STREAM_CHUNKS;
    private int leftContext = 512;

    private Builder(PipelinePreset preset, Path model, Path results) {
      this.preset = preset;
      this.model = model;
      this.results = results;
      synthCount = preset.synthUtterances();
      trainLimit = preset.trainUtterances();
      evalLimit = preset.evalUtterances();
      benchmarkLimit = preset.benchmarkUtterances();
      epochs = preset.epochs();
      maxSteps = preset.maxSteps();
      batchSize = preset.batchSize();
      learningRate = preset.learningRate();
      patience = preset.patience();
      evalEvery = preset.evalEvery();
      streaming = preset.streaming();
    }

    public Builder train(Path v) { train = v; return this; }
    public Builder valid(Path v) { valid = v; return this; }
    public Builder test(Path v) { test = v; return this; }
    public Builder latentDim(Integer v) { latentDim = v; return this; }
    /** The share of the MHA cache to keep; null for r = d/2 when no latent size is given either. */
    public Builder cacheBudget(Double v) { cacheBudget = v; cacheBudgetGiven = true; return this; }
    public Builder method(ConversionMethod v) { method = v; return this; }
    public Builder whiten(boolean v) { whiten = v; return this; }
    public Builder device(String v) { device = v; return this; }
    public Builder seed(long v) { seed = v; return this; }
    public Builder synthCount(int v) { synthCount = v; return this; }
    public Builder trainLimit(int v) { trainLimit = v; return this; }
    public Builder evalLimit(int v) { evalLimit = v; return this; }
    public Builder benchmarkLimit(int v) { benchmarkLimit = v; return this; }
    public Builder epochs(int v) { epochs = v; return this; }
    public Builder maxSteps(long v) { maxSteps = v; return this; }
    public Builder batchSize(int v) { batchSize = v; return this; }
    public Builder learningRate(double v) { learningRate = v; return this; }
    public Builder patience(int v) { patience = v; return this; }
    public Builder evalEvery(long v) { evalEvery = v; return this; }
    public Builder streaming(boolean v) { streaming = v; return this; }
    public Builder streamChunks(List<Integer> v) { streamChunks = v; return this; }
    public Builder leftContext(int v) { leftContext = v; return this; }

    /** @throws IllegalArgumentException naming the flag of a value out of range */
    public PipelineOptions build() {
      // the preset's budget belongs to its joint conversion at its own rank; a latent size or split SVD replaces it
      Double budget = cacheBudgetGiven ? cacheBudget
          : latentDim == null && method == ConversionMethod.JOINT ? preset.cacheBudget() : null;
      return new PipelineOptions(preset, model, train, valid, test, results, latentDim, budget, method, whiten, device,
          seed, synthCount, trainLimit, evalLimit, benchmarkLimit, epochs, maxSteps, batchSize, learningRate, patience,
          evalEvery, streaming, streamChunks, leftContext);
    }
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
