package dev.mha2mla.train;

import dev.mha2mla.data.Datasets;
import java.nio.file.Path;

/**
 * What {@link Trainer} does. Build with {@link #builder()}; every field has a default but the data and output paths,
 * and exactly one of {@code model} (fine-tune a model folder) or {@code initConfig} + {@code vocab} (train a freshly
 * initialised model from scratch).
 *
 * @param model model folder to fine-tune (HF layout), or null with initConfig
 * @param initConfig config.json of a model to initialise from scratch (HF {@code _init_weights} style), or null
 * @param vocab vocab.json for a from-scratch model (a fine-tuned model's own vocab.json is used otherwise)
 * @param train training data ({@code Datasets.open}: TSV manifest, LibriSpeech folder, ...)
 * @param valid validation data, scored every {@code evalEvery} steps
 * @param out output folder: best/, checkpoint/, metrics, TensorBoard events, trainer_state.json
 * @param epochs passes over the training data when maxSteps is 0
 * @param maxSteps total optimizer updates (overrides epochs when > 0); fixes the learning-rate schedule
 * @param stopAfterSteps pause after this many updates (0: never), leaving a checkpoint that --resume continues
 *     exactly as if the run had not stopped (for time-sliced jobs)
 * @param batchSize utterances per update (batches group utterances of similar length)
 * @param learningRate peak learning rate
 * @param warmupSteps linear warm-up updates; negative means 10% of the total
 * @param patience evaluations without a lower validation loss before stopping early (0: never stop early)
 * @param evalEvery updates between validations (validation also runs before the first and after the last update)
 * @param checkpointEvery updates between checkpoints (0: at every validation)
 * @param scope which tensors are trained
 * @param device "cpu", "cuda" or "cuda:N"
 * @param seed seeds the batch order, SpecAugment and a fresh model's initialisation
 * @param resume continue from {@code out/checkpoint} instead of refusing a non-empty output folder
 * @param optimizer AdamW's betas, epsilon and weight decay
 * @param maxGradNorm global gradient-norm clip (0: no clipping)
 * @param specAugment apply the config's SpecAugment masks in training (validation never masks)
 * @param lengthBucket batches per length bucket: a shuffled window of lengthBucket x batchSize utterances is sorted
 *     by length and cut into batches (HF's LengthGroupedSampler uses 50)
 * @param streaming chunk-aware training (see {@link StreamingTraining}), or null for whole utterances; it changes the
 *     default scope to {@link StreamingTraining#DEFAULT_SCOPE}
 */
public record FinetuneOptions(
    Path model,
    Path initConfig,
    Path vocab,
    Path train,
    Path valid,
    Path out,
    int epochs,
    long maxSteps,
    long stopAfterSteps,
    int batchSize,
    double learningRate,
    long warmupSteps,
    int patience,
    long evalEvery,
    long checkpointEvery,
    TrainScope scope,
    String device,
    long seed,
    boolean resume,
    AdamW.Settings optimizer,
    double maxGradNorm,
    boolean specAugment,
    int lengthBucket,
    StreamingTraining streaming,
    boolean allowOutsidePaths) {

  public FinetuneOptions {
    if ((model == null) == (initConfig == null)) {
      throw new IllegalArgumentException("give either --model DIR (fine-tune) or --init-config FILE (train from scratch), not both");
    }
    if (initConfig != null && vocab == null) {
      throw new IllegalArgumentException("--init-config needs --vocab FILE (the vocab.json that defines the CTC labels)");
    }
    if (train == null || valid == null || out == null) throw new IllegalArgumentException("--train, --valid and --out are required");
    if (epochs < 1 && maxSteps < 1) throw new IllegalArgumentException("--epochs must be >= 1 (or give --max-steps)");
    if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
    if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
      throw new IllegalArgumentException("--lr must be a positive number, got " + learningRate);
    }
    if (patience < 0) throw new IllegalArgumentException("--patience must be >= 0, got " + patience);
    if (evalEvery < 1) throw new IllegalArgumentException("--eval-every must be >= 1, got " + evalEvery);
    if (checkpointEvery < 0) throw new IllegalArgumentException("--checkpoint-every must be >= 0, got " + checkpointEvery);
    if (stopAfterSteps < 0) throw new IllegalArgumentException("--stop-after must be >= 0, got " + stopAfterSteps);
    if (maxGradNorm < 0 || Double.isNaN(maxGradNorm)) throw new IllegalArgumentException("--max-grad-norm must be >= 0");
    if (lengthBucket < 1) throw new IllegalArgumentException("the length bucket must hold at least one batch");
    if (scope == null) scope = streaming != null ? StreamingTraining.DEFAULT_SCOPE : TrainScope.ATTENTION;
    if (device == null) device = "cpu";
    if (optimizer == null) optimizer = AdamW.Settings.DEFAULT;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.model = model;
    b.initConfig = initConfig;
    b.vocab = vocab;
    b.train = train;
    b.valid = valid;
    b.out = out;
    b.epochs = epochs;
    b.maxSteps = maxSteps;
    b.stopAfterSteps = stopAfterSteps;
    b.batchSize = batchSize;
    b.learningRate = learningRate;
    b.warmupSteps = warmupSteps;
    b.patience = patience;
    b.evalEvery = evalEvery;
    b.checkpointEvery = checkpointEvery;
    b.scope = scope;
    b.device = device;
    b.seed = seed;
    b.resume = resume;
    b.optimizer = optimizer;
    b.maxGradNorm = maxGradNorm;
    b.specAugment = specAugment;
    b.lengthBucket = lengthBucket;
    b.streaming = streaming;
    return b;
  }

  /**
   * Defaults: 10 epochs, batch 8, lr 1e-4, 10% warm-up, patience 5, validation every 500 updates, whole utterances,
   * attention scope (with streaming: {@link StreamingTraining#DEFAULT_SCOPE}).
   */
  public static final class Builder {
    private Path model;
    private Path initConfig;
    private Path vocab;
    private Path train;
    private Path valid;
    private Path out;
    private int epochs = 10;
    private long maxSteps;
    private long stopAfterSteps;
    private int batchSize = 8;
    private double learningRate = 1e-4;
    private long warmupSteps = -1;
    private int patience = 5;
    private long evalEvery = 500;
    private long checkpointEvery;
    private TrainScope scope;
    private String device = "cpu";
    private long seed = 42;
    private boolean resume;
    private AdamW.Settings optimizer = AdamW.Settings.DEFAULT;
    private double maxGradNorm = 1.0;
    private boolean specAugment = true;
    private int lengthBucket = 50;
    private StreamingTraining streaming;
    private boolean allowOutsidePaths;

    public Builder model(Path v) { model = v; return this; }
    public Builder initConfig(Path v) { initConfig = v; return this; }
    public Builder vocab(Path v) { vocab = v; return this; }
    public Builder train(Path v) { train = v; return this; }
    public Builder valid(Path v) { valid = v; return this; }
    public Builder out(Path v) { out = v; return this; }
    public Builder epochs(int v) { epochs = v; return this; }
    public Builder maxSteps(long v) { maxSteps = v; return this; }
    public Builder stopAfterSteps(long v) { stopAfterSteps = v; return this; }
    public Builder batchSize(int v) { batchSize = v; return this; }
    public Builder learningRate(double v) { learningRate = v; return this; }
    public Builder warmupSteps(long v) { warmupSteps = v; return this; }
    public Builder patience(int v) { patience = v; return this; }
    public Builder evalEvery(long v) { evalEvery = v; return this; }
    public Builder checkpointEvery(long v) { checkpointEvery = v; return this; }
    public Builder scope(TrainScope v) { scope = v; return this; }
    public Builder device(String v) { device = v; return this; }
    public Builder seed(long v) { seed = v; return this; }
    public Builder resume(boolean v) { resume = v; return this; }
    public Builder optimizer(AdamW.Settings v) { optimizer = v; return this; }
    public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
    public Builder specAugment(boolean v) { specAugment = v; return this; }
    public Builder lengthBucket(int v) { lengthBucket = v; return this; }
    public Builder streaming(StreamingTraining v) { streaming = v; return this; }
    /** Lets --train / --valid manifests name audio outside their own folders (see {@link Datasets#open(Path, boolean)}). */
    public Builder allowOutsidePaths(boolean v) { allowOutsidePaths = v; return this; }

    public FinetuneOptions build() {
      return new FinetuneOptions(model, initConfig, vocab, train, valid, out, epochs, maxSteps, stopAfterSteps, batchSize,
          learningRate, warmupSteps, patience, evalEvery, checkpointEvery, scope, device, seed, resume, optimizer,
          maxGradNorm, specAugment, lengthBucket, streaming, allowOutsidePaths);
    }
  }
}
