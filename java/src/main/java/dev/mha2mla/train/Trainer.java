package dev.mha2mla.train;

import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Datasets;
import dev.mha2mla.data.TrainingWords;
import dev.mha2mla.distributed.Group;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.RunInfo;
import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.model.AttentionBackend;
import dev.mha2mla.model.AudioNormalizer;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.CtcVocabulary;
import dev.mha2mla.model.Devices;
import dev.mha2mla.model.ModelFolderWriter;
import dev.mha2mla.kernels.TorchTensors;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Fine-tunes a model with CTC (step 4 of the pipeline: after conversion, train the attention so the MLA model
 * recovers the MHA model's accuracy), or trains a fresh model from scratch with {@link TrainScope#ALL}.
 *
 * <p>Per update: a length-bucketed batch, SpecAugment masks drawn from (seed, step), the forward pass with only the
 * trained tensors requiring gradients (so the frozen feature encoder costs no backward), HF's CTC loss, backward,
 * global-norm clipping, AdamW at the scheduled learning rate. Every {@code evalEvery} updates: validation loss and
 * WER; the model with the lowest validation loss is written to {@code OUT/best/} (HF layout), and training stops
 * when {@code patience} validations in a row bring no lower loss. {@code OUT/checkpoint/} holds everything needed to
 * continue exactly ({@link Checkpoint}); a run killed at any point and resumed ends with the same weights, bit for
 * bit, as one that never stopped (same machine, same thread count).
 *
 * <p>With {@link FinetuneOptions#streaming()} it trains chunk-aware ({@link StreamingTraining}): each update's forward
 * pass is restricted as a stream with that update's chunk size would compute it, and the fixed waveform statistics are
 * folded into the model first, so the model in best/ streams exactly what it was trained on.
 *
 * <pre>{@code
 * TrainingResult r = new Trainer(FinetuneOptions.builder()
 *     .model(Path.of("mla-model")).train(Path.of("train.tsv")).valid(Path.of("dev.tsv"))
 *     .out(Path.of("finetuned")).maxSteps(2000).build()).run(TrainingListener.NONE);
 * }</pre>
 */
public final class Trainer {
  public static final String BEST = "best";
  /** Written into best/ beside the model: which step it is and how it scored. */
  public static final String BEST_INFO = "training.json";
  static final String RANDOMNESS = "SplittableRandom(SplitMix64(SplitMix64(seed ^ purpose) + index)); purpose "
      + "'order' indexed by epoch, 'masks' indexed by step";

  private final FinetuneOptions options;
  private final Group group;

  public Trainer(FinetuneOptions options) {
    this(options, Group.SINGLE);
  }

  /**
   * One rank of a data-parallel run: every rank holds the whole model and takes its share of each global batch of
   * {@code batchSize} utterances (the batch one process would draw); the gradients of the shares are summed over the
   * ranks before the update, so the run computes what one process would, up to the order of float sums. Rank 0
   * alone reads and writes {@code out}: with {@code resume} it sends the checkpoint to the others, so no file system
   * needs to be shared.
   */
  public Trainer(FinetuneOptions options, Group group) {
    this.options = options;
    this.group = group;
  }

  /** Runs (or, with {@code resume}, continues) training until the last step, early stopping or the pause step. */
  public TrainingResult run(TrainingListener listener) throws IOException {
    try (CpuThreads.Pinned pinned = CpuThreads.pin(); Session session = new Session(listener)) {
      // the data is read between two agreements: a rank fails before it (model, folders, listings) or after it
      // (settings, fingerprints) in step with the others, and a bad utterance fails every rank through the exchange;
      // a resumed checkpoint is sent once every rank has prepared, so its collectives meet, and the weights and step
      // it leaves are agreed last
      group.agree("opening the model and data", session::open);
      session.prepareData();
      group.agree("preparing the run", session::setUp);
      if (options.resume() && !group.isSingle()) session.shareCheckpoint();
      group.agree("starting the run", session::startingPoint);
      return session.run();
    } catch (IOException | RuntimeException e) {
      group.failed(e);
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A streamed frame must depend on its own samples alone: a group-norm feature encoder normalises over the utterance. */
  private void checkStreamable() throws IOException {
    Path file = options.model() != null ? options.model().resolve("config.json") : options.initConfig();
    ConformerConfig c = ConformerConfig.read(file);
    if (!c.featExtractNorm().equals("layer")) {
      throw new IncompatibleOptionsException(file + ": --streaming needs layers that can stream, but the feature encoder's "
          + "first layer normalises each channel over the whole utterance (feat_extract_norm \"" + c.featExtractNorm()
          + "\"), which a stream cannot see; only \"layer\" feature encoders (per-frame LayerNorm) stream");
    }
  }

  private static boolean holdsRun(Path out) throws IOException {
    try (Stream<Path> list = Files.list(out)) {
      return list.anyMatch(p -> !p.getFileName().toString().equals(".lock"));
    }
  }

  static boolean padded(TrainingData.Batch batch) {
    for (long n : batch.sampleLengths()) if (n != batch.paddedSamples()) return true;
    return false;
  }

  /** One run's model, data and state. */
  private final class Session implements AutoCloseable {
    private final Path out = options.out().toAbsolutePath().normalize();
    private final TrainingListener listener;
    private FileChannel lockChannel;
    private FileLock lock;
    private Checkpoint.Loaded checkpoint;
    // the state of the checkpoint this run continues (rank 0), to send to the other ranks
    private Checkpoint.State resumedFrom;
    private final long started = System.nanoTime();
    private final RunInfo run = RunInfo.capture(options.device());
    private ConformerCtcModel model;
    private AdamW optimizer;
    private MetricsLog metrics;
    private ConformerConfig config;
    private CtcVocabulary vocabulary;
    private AudioNormalizer normalizer;
    private Path sourceDir;
    private String source;
    private final Map<String, Tensor> trainable = new LinkedHashMap<>();
    private String frozenChecksum;
    private Dataset train;
    private Dataset valid;
    private TrainingData trainData;
    // every word the written model was trained on, where its whole history is known (from scratch, or a source
    // folder that records its own); null otherwise
    private TrainingWords trainedWords;
    private TrainingData validData;
    private LengthBuckets buckets;
    private SeededStreams streams;
    private SpecAugment specAugment;
    private CtcLoss loss;
    private LearningRateSchedule schedule;
    private Recipe recipe;
    /** The run's chunk-aware settings with the statistics resolved; null for whole-utterance training. */
    private StreamingTraining streaming;
    private long stepsPerEpoch;
    private long totalSteps;

    // the run's state: what a checkpoint records
    private long step;
    private Long bestStep;
    private double bestLoss = Double.POSITIVE_INFINITY;
    private Double bestWer;
    private int evaluationsWithoutImprovement;
    private Double lastTrainLoss;
    private double secondsBefore;
    private final List<Evaluation> history = new ArrayList<>();
    private long lastCheckpointStep = -1;
    private long cachedEpoch = -1;
    private List<int[]> cachedBatches;

    Session(TrainingListener listener) {
      this.listener = listener;
    }

    /**
     * The output folder claimed (rank 0), the checkpoint read, the model loaded, the data sets listed and checked
     * for transcripts. Returns what every rank of a run must agree on before the audio is read: the listings.
     */
    Map<String, String> open() throws IOException {
      if (options.streaming() != null) checkStreamable();
      if (writes()) claimOutput();
      loadModel();
      train = Datasets.open(options.train(), options.allowOutsidePaths());
      TrainingData.check("--train", train);
      valid = Datasets.open(options.valid(), options.allowOutsidePaths());
      TrainingData.check("--valid", valid);
      if (group.isSingle()) return Map.of();
      return Map.of("--train listing (ids and transcripts)", TrainingData.listing(train),
          "--valid listing (ids and transcripts)", TrainingData.listing(valid));
    }

    /**
     * Everything else before the first update: the trained weights chosen, the schedule planned, the state
     * restored (rank 0; the others receive it in {@link #shareCheckpoint}). Returns the settings and data every rank of
     * a run must agree on.
     */
    Map<String, String> setUp() throws IOException {
      if (options.streaming() != null) foldForStreaming();
      selectTrainable();
      planSchedule();
      optimizer = new AdamW(trainable, decayed(), options.optimizer());
      if (checkpoint != null) restore(checkpoint);
      // hashing every trained weight costs a pass over them: only a run of several processes compares
      if (group.isSingle()) return Map.of();
      Map<String, String> agreed = new LinkedHashMap<>();
      Map<?, ?> settings = Json.MAPPER.convertValue(recipe, Map.class);
      for (Map.Entry<?, ?> e : settings.entrySet()) {
        agreed.put("setting " + e.getKey(), String.valueOf(e.getValue()));
      }
      agreed.put("schedule (--eval-every, --patience, --checkpoint-every, --stop-after)", options.evalEvery() + ", "
          + options.patience() + ", " + options.checkpointEvery() + ", " + options.stopAfterSteps());
      agreed.put("training data", trainData.fingerprint());
      agreed.put("validation data", validData.fingerprint());
      agreed.put("frozen weights", frozenChecksum);
      return agreed;
    }

    /**
     * Resuming several processes: rank 0 restored the checkpoint from its {@code out}; the trainer state goes to the
     * other ranks through the store, the trained weights and AdamW's moments by Gloo broadcast into their tensors.
     * Every rank reached this point (the previous agreement succeeded everywhere), so the collectives meet.
     */
    void shareCheckpoint() throws IOException {
      byte[] mine = writes() ? Json.MAPPER.writeValueAsBytes(new Shared(resumedFrom, optimizer.steps())) : new byte[0];
      Shared sent = Json.MAPPER.readValue(group.allGather("sending the checkpoint's state", mine).get(0), Shared.class);
      // no checkpoint in rank 0's --out: every rank starts afresh
      if (sent.state() == null) return;
      if (!writes()) {
        restoreState(sent.state());
        optimizer.resumeAt(sent.optimizerSteps());
      }
      group.broadcastFromRankZero(new ArrayList<>(trainable.values()), "sending the checkpoint's trained weights");
      group.broadcastFromRankZero(optimizer.moments(), "sending the checkpoint's optimizer state");
    }

    /** What rank 0 sends of its checkpoint besides the tensors ({@code state} null: it has none). */
    private record Shared(Checkpoint.State state, long optimizerSteps) {}

    /** Where the run starts, which every rank must agree on: the trained weights and the step. */
    Map<String, String> startingPoint() {
      if (group.isSingle()) return Map.of();
      return Map.of("trained weights", checksum(true), "step resumed from", Long.toString(step),
          "optimizer updates", Long.toString(optimizer.steps()));
    }

    /** Rank 0: locks {@code out} against a second run, and reads its checkpoint or checks that it holds no run. */
    private void claimOutput() throws IOException {
      Files.createDirectories(out);
      lockChannel = FileChannel.open(out.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      lock = lockChannel.tryLock();
      if (lock == null) {
        lockChannel.close();
        lockChannel = null;
        throw new IllegalArgumentException(out + ": another mha2mla finetune is writing to this folder");
      }
      if (options.resume()) {
        checkpoint = Checkpoint.read(out);
      } else if (holdsRun(out)) {
        throw new IllegalArgumentException(out + ": the output folder is not empty (it holds a previous run); pass "
            + "--resume to continue that run, or choose another --out");
      }
    }

    /** Rank 0 writes the run's files; the other ranks compute the same state and write nothing. */
    private boolean writes() {
      return group.rank() == 0;
    }

    TrainingResult run() throws IOException {
      if (writes()) metrics = MetricsLog.open(out, checkpoint == null ? -1 : step);
      checkpoint = null;
      listener.started(step, totalSteps);
      Validator validator = new Validator(model, validData, loss, vocabulary, options.batchSize(), streaming, group);
      if (history.isEmpty()) {
        evaluate(validator);
        writeCheckpoint("running");
      }
      String status = "finished";
      String reason = "completed " + totalSteps + " updates";
      // patience running out on the last update stops nothing: the run did every update it was given
      if (step < totalSteps && options.patience() > 0 && evaluationsWithoutImprovement >= options.patience()) {
        status = "stopped_early";
        reason = "the checkpoint's run had already stopped early (patience " + options.patience() + ")";
      }
      while (step < totalSteps && !status.equals("stopped_early")) {
        if (options.stopAfterSteps() > 0 && step >= options.stopAfterSteps()) {
          status = "paused";
          reason = "paused after " + step + " updates (--stop-after); continue with --resume";
          break;
        }
        StepMetrics m = trainStep();
        if (metrics != null) metrics.step(m);
        listener.stepDone(m);
        boolean evaluate = step % options.evalEvery() == 0 || step == totalSteps;
        boolean stopEarly = false;
        if (evaluate) {
          evaluate(validator);
          stopEarly = step < totalSteps && options.patience() > 0 && evaluationsWithoutImprovement >= options.patience();
        }
        boolean pause = options.stopAfterSteps() > 0 && step >= options.stopAfterSteps();
        boolean save = (options.checkpointEvery() > 0 ? step % options.checkpointEvery() == 0 : evaluate)
            || step == totalSteps || stopEarly || pause;
        if (stopEarly) {
          status = "stopped_early";
          reason = "validation loss did not improve on step " + bestStep + "'s " + String.format("%.4f", bestLoss)
              + " in " + evaluationsWithoutImprovement + " validations (patience " + options.patience() + ")";
        }
        if (save) writeCheckpoint(stopEarly ? status : "running");
        if (stopEarly) break;
      }
      if (lastCheckpointStep != step) writeCheckpoint(status);
      writeTrainerState(status, reason);
      Evaluation best = history.stream().filter(e -> bestStep != null && e.step() == bestStep).reduce((a, b) -> b).orElse(null);
      return new TrainingResult(status, step, totalSteps, reason, history.get(0), best, history.get(history.size() - 1),
          out.resolve(BEST), Checkpoint.dir(out), out.resolve(TrainerState.FILE), seconds());
    }

    private void loadModel() throws IOException {
      Device device = Devices.parse(options.device());
      if (options.model() != null) {
        sourceDir = options.model().toAbsolutePath().normalize();
        model = ConformerCtcModel.load(sourceDir, device);
        config = model.config();
        vocabulary = CtcVocabulary.read(sourceDir.resolve("vocab.json"), config.padTokenId(), config.vocabSize());
        normalizer = AudioNormalizer.read(sourceDir.resolve("preprocessor_config.json"));
        source = sourceDir.toString();
      } else {
        config = ConformerConfig.read(options.initConfig());
        vocabulary = CtcVocabulary.read(options.vocab(), config.padTokenId(), config.vocabSize());
        normalizer = AudioNormalizer.DEFAULT;
        model = ConformerCtcModel.initialize(config, options.seed(), device);
        sourceDir = out;
        source = "initialised from " + options.initConfig().toAbsolutePath().normalize() + " with seed " + options.seed();
      }
    }

    private void selectTrainable() {
      // the fused native kernels have no backward: training and its validations run LibTorch's attention
      model.setAttentionBackend(AttentionBackend.TORCH);
      for (Map.Entry<String, Tensor> e : model.weights().entrySet()) {
        if (options.scope().trains(e.getKey())) trainable.put(e.getKey(), e.getValue());
      }
      if (trainable.isEmpty()) {
        throw new IllegalArgumentException("--train-scope " + options.scope().cliName() + " selects no tensor of this model"
            + (options.scope() == TrainScope.LATENT ? " (it has no kv_down/k_up/v_up: convert it to MLA first)" : ""));
      }
      for (Tensor t : trainable.values()) t.requires_grad_(true);
      frozenChecksum = checksum(false);
    }

    /**
     * SHA-256 over the names, shapes and bytes of every tensor that is trained ({@code trained}), or of every one
     * that is not (the pass-through ones too).
     */
    private String checksum(boolean trained) {
      return TrainingData.sha256(sha -> {
        for (Map.Entry<String, RawTensor> e : model.stateDict().entrySet()) {
          if (trainable.containsKey(e.getKey()) != trained) continue;
          RawTensor t = e.getValue();
          sha.update((e.getKey() + " " + t.dtype() + " " + Arrays.toString(t.shape()) + "\n").getBytes(StandardCharsets.UTF_8));
          sha.update(t.data());
        }
      });
    }

    private Set<String> decayed() {
      Set<String> out = new LinkedHashSet<>();
      for (String name : trainable.keySet()) if (AdamW.decays(name)) out.add(name);
      return out;
    }

    /** Reads and checks the audio of both sets: this rank its share, the rest through the exchange. */
    void prepareData() throws IOException {
      CtcLabels labels = new CtcLabels(vocabulary);
      // a streaming run reads raw samples: its fixed normalisation is folded into the model (foldForStreaming)
      AudioNormalizer reading = options.streaming() != null ? normalizer.withoutNormalization() : normalizer;
      trainData = TrainingData.prepare("--train", train, labels, model.featureEncoder(), reading,
          progress("--train", train.size()), group);
      TrainingWords sourceWords = options.model() == null ? null : TrainingWords.read(sourceDir);
      if (options.model() == null || sourceWords != null) {
        trainedWords = TrainingWords.of(train.utterances()).union(sourceWords);
      }
      validData = TrainingData.prepare("--valid", valid, labels, model.featureEncoder(), reading,
          progress("--valid", valid.size()), group);
    }

    // this rank reads its share of the set: the listener counts that share
    private IntConsumer progress(String role, int utterances) {
      int[] share = group.share(utterances);
      return i -> listener.preparing(role, i - share[0] + 1, share[1] - share[0]);
    }

    /**
     * For a model that normalises each utterance: fixes the statistics (given, else the folder's, else those of
     * --train) and folds them into the first convolution, so the model trains on, and afterwards reads, raw samples.
     */
    private void foldForStreaming() {
      WaveformStatistics folded = null;
      if (normalizer.doNormalize()) {
        WaveformStatistics stats = options.streaming().statistics();
        if (stats == null) stats = normalizer.streamStatistics();
        if (stats == null) stats = trainData.rawStatistics();
        folded = model.featureEncoder().foldNormalization(stats);
        normalizer = normalizer.withoutNormalization();
      }
      streaming = options.streaming().withStatistics(folded);
      config = config.withStreaming(streaming.chunkSizes().stream().map(StreamingTraining::name).toList(),
          streaming.leftContextFrames(), folded);
    }

    private void planSchedule() {
      streams = new SeededStreams(options.seed());
      buckets = new LengthBuckets(trainData.sampleCounts(), options.batchSize(), options.lengthBucket(), streams);
      stepsPerEpoch = buckets.batchesPerEpoch();
      totalSteps = options.maxSteps() > 0 ? options.maxSteps() : options.epochs() * stepsPerEpoch;
      long warmup = options.warmupSteps() >= 0 ? options.warmupSteps() : totalSteps / 10;
      schedule = new LearningRateSchedule(options.learningRate(), warmup, totalSteps);
      specAugment = options.specAugment() ? SpecAugment.of(config) : SpecAugment.off();
      if (specAugment.masksTime() && model.maskedSpecEmbed() == null) {
        // HF creates masked_spec_embed whenever mask_time_prob > 0; a model without it cannot time-mask
        specAugment = new SpecAugment(specAugment.enabled(), 0, specAugment.timeLength(), 0, specAugment.featureProb(),
            specAugment.featureLength(), specAugment.featureMinMasks());
      }
      loss = CtcLoss.of(config);
      AdamW.Settings o = options.optimizer();
      recipe = new Recipe(options.scope().cliName(), options.batchSize(), options.learningRate(), warmup, totalSteps,
          o.beta1(), o.beta2(), o.epsilon(), o.weightDecay(), options.maxGradNorm(), options.seed(), options.specAugment(),
          options.lengthBucket(), streaming == null ? null : streaming.recipe());
    }

    private void restore(Checkpoint.Loaded checkpoint) {
      restoreState(checkpoint.state());
      Path where = Checkpoint.dir(out);
      try (NoGradGuard g = new NoGradGuard()) {
        for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
          RawTensor saved = checkpoint.trainable().get(e.getKey());
          if (saved == null || !Arrays.equals(saved.shape(), e.getValue().shape())) {
            throw new IllegalArgumentException(where + ": trained tensor " + e.getKey() + " is missing or has another shape");
          }
          try (PointerScope scope = new PointerScope()) {
            e.getValue().copy_(TorchTensors.fromRaw(saved));
          }
        }
      }
      optimizer.load(checkpoint.optimizer(), where.toString());
      resumedFrom = checkpoint.state();
    }

    /** Checks that a checkpoint's run is this run, and takes its step, best model and history. */
    private void restoreState(Checkpoint.State s) {
      Path where = Checkpoint.dir(out);
      List<String> problems = new ArrayList<>(s.recipe().differences(recipe));
      if (!s.frozenChecksum().equals(frozenChecksum)) {
        problems.add("the frozen weights differ from the ones the checkpoint was trained with (source: " + s.source() + ")");
      }
      if (!s.trainFingerprint().equals(trainData.fingerprint())) problems.add("--train holds different utterances");
      if (!s.validFingerprint().equals(validData.fingerprint())) problems.add("--valid holds different utterances");
      int worldSize = s.worldSize() == null ? 1 : s.worldSize();
      if (worldSize != group.worldSize()) {
        problems.add("the run had " + worldSize + " process(es), now " + group.worldSize() + " (a global batch summed over "
            + "another split rounds differently, so the result would match neither run)");
      }
      if (!problems.isEmpty()) {
        throw new IncompatibleOptionsException(where + ": cannot resume this run exactly:\n  " + String.join("\n  ", problems)
            + "\nresume with the run's original settings and data, or start a new run in another --out");
      }
      List<int[]> order = batchesOf(s.epoch());
      if (order.size() != s.epochBatches().size()
          || !java.util.stream.IntStream.range(0, order.size()).allMatch(i -> Arrays.equals(order.get(i), s.epochBatches().get(i)))) {
        throw new IllegalStateException(where + ": the recomputed batch order of epoch " + s.epoch()
            + " differs from the recorded one (a different JDK?); exact resumption is impossible");
      }
      TrainerState t = s.trainer();
      step = s.step();
      bestStep = t.bestStep();
      bestLoss = t.bestValidLoss() == null ? Double.POSITIVE_INFINITY : t.bestValidLoss();
      bestWer = t.bestValidWer();
      evaluationsWithoutImprovement = t.evaluationsWithoutImprovement();
      lastTrainLoss = t.lastTrainLoss();
      secondsBefore = t.trainSeconds();
      history.addAll(t.evaluations());
      lastCheckpointStep = step;
    }

    private List<int[]> batchesOf(long epoch) {
      if (epoch != cachedEpoch) {
        cachedBatches = buckets.epoch(epoch);
        cachedEpoch = epoch;
      }
      return cachedBatches;
    }

    /**
     * One update on this rank's share of the global batch. The global batch's padding and SpecAugment masks are
     * those one process would use (the masks are drawn for the whole batch and each rank takes its rows); the
     * shares' loss values and gradients are summed over the ranks before clipping and the update, so every rank
     * applies the same update.
     */
    private StepMetrics trainStep() throws IOException {
      long t0 = System.nanoTime();
      long epoch = step / stepsPerEpoch;
      int[] global = batchesOf(epoch).get((int) (step % stepsPerEpoch));
      int[] share = group.share(global.length);
      long[] sampleLengths = new long[global.length];
      int paddedSamples = 0;
      for (int b = 0; b < global.length; b++) {
        sampleLengths[b] = trainData.item(global[b]).samples();
        paddedSamples = (int) Math.max(paddedSamples, sampleLengths[b]);
      }
      double value;
      double gradNorm;
      double lr = schedule.at(step);
      long frames = 0;
      try (PointerScope scope = new PointerScope()) {
        long[] frameLengths = model.frameLengths(sampleLengths, paddedSamples);
        for (long f : frameLengths) frames += f;
        SplittableRandom random = streams.stepMasks(step);
        int paddedFrames = (int) model.featureEncoder().frames(paddedSamples);
        boolean[][] timeMask = specAugment.timeMask(frameLengths, paddedFrames, random);
        boolean[][] featureMask = specAugment.featureMask(global.length, config.hiddenSize(), random);
        Tensor l = null;
        double mine = 0;
        if (share[1] > share[0]) {
          TrainingData.Batch batch = trainData.batch(Arrays.copyOfRange(global, share[0], share[1]), paddedSamples);
          Tensor input = TorchTensors.floats(batch.audio(), batch.size(), batch.paddedSamples());
          ConformerCtcModel.Output output = model.forward(input, padded(batch) ? batch.sampleLengths() : null,
              streaming == null ? null : streaming.chunking(drawChunk()), boolTensor(rows(timeMask, share)),
              boolTensor(rows(featureMask, share)), null);
          Tensor nll = loss.perUtterance(output.logits(), output.frameLengths(), batch.labels());
          l = group.isSingle() ? loss.reduce(nll, batch.labels()) : loss.reduceShare(nll, batch.labels(), global.length);
          mine = l.item_double();
        }
        value = group.sum(mine, "summing the loss of update " + (step + 1));
        if (!Double.isFinite(value)) throw diverged("the training loss is " + value, global);
        if (l != null) l.backward();
        if (!group.isSingle()) group.allReduceSum(gradients(), "summing the gradients of update " + (step + 1));
        gradNorm = optimizer.clipGradientNorm(options.maxGradNorm());
        if (!Double.isFinite(gradNorm)) {
          optimizer.clearGradients();
          throw diverged("the gradient norm is " + gradNorm + " (loss " + value + ")", global);
        }
        optimizer.step(lr);
        optimizer.clearGradients();
      }
      step++;
      lastTrainLoss = value;
      return new StepMetrics(step, epoch, value, lr, gradNorm, global.length, frames, (System.nanoTime() - t0) / 1e9);
    }

    /** Rows [share[0], share[1]) of a per-utterance mask, or null. */
    private static boolean[][] rows(boolean[][] mask, int[] share) {
      return mask == null ? null : Arrays.copyOfRange(mask, share[0], share[1]);
    }

    /** Each trained tensor's gradient; zeros where this rank computed none (an empty share). */
    private List<Tensor> gradients() {
      List<Tensor> out = new ArrayList<>();
      for (Tensor t : trainable.values()) {
        if (!t.grad().defined()) t.mutable_grad().put(torch.zeros_like(t));
        out.add(t.grad());
      }
      return out;
    }

    /** This update's chunk size, uniform over the set, from (seed, step) alone like every other draw. */
    private int drawChunk() {
      List<Integer> sizes = streaming.chunkSizes();
      return sizes.get(streams.stepChunk(step).nextInt(sizes.size()));
    }

    private TrainingDivergedException diverged(String what, int[] batch) {
      List<String> ids = Arrays.stream(batch).mapToObj(i -> trainData.item(i).utterance().id()).toList();
      String message = "update " + (step + 1) + ": " + what + " on batch " + ids + "; training stopped before "
          + "applying it. " + (lastCheckpointStep >= 0
              ? "The last good checkpoint (step " + lastCheckpointStep + ") is kept in " + Checkpoint.dir(out)
                  + "; lower --lr or raise --warmup, then continue with --resume in a new run folder or start again."
              : "No checkpoint was written yet.");
      try {
        writeTrainerState("diverged", message);
      } catch (IOException e) {
        // the checkpoint matters, not this report
      }
      return new TrainingDivergedException(message, step, lastCheckpointStep);
    }

    private Tensor boolTensor(boolean[][] mask) {
      if (mask == null) return null;
      int rows = mask.length;
      int cols = mask[0].length;
      byte[] flat = new byte[rows * cols];
      for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) flat[r * cols + c] = (byte) (mask[r][c] ? 1 : 0);
      return Tensor.create(flat, rows, cols).to(ScalarType.Bool);
    }

    private void evaluate(Validator validator) throws IOException {
      Evaluation e = validator.run(step, step == 0 ? 0 : (step - 1) / stepsPerEpoch, bestLoss);
      if (e.improved()) {
        bestLoss = e.loss();
        bestStep = e.step();
        bestWer = e.wordErrorRate();
        evaluationsWithoutImprovement = 0;
        writeBest(e);
      } else {
        evaluationsWithoutImprovement++;
      }
      history.add(e);
      if (metrics != null) metrics.evaluation(e);
      listener.evaluated(e);
    }

    private void writeBest(Evaluation e) throws IOException {
      if (!writes()) return;
      Map<String, Object> extra = new LinkedHashMap<>();
      extra.put(BEST_INFO, new BestModel(run, source, e.step(), e.loss(), e.wordErrorRate(),
          validData.name(), options.scope().cliName()));
      if (options.model() == null) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int i = 0; i < vocabulary.size(); i++) vocab.put(vocabulary.token(i), i);
        extra.put("vocab.json", vocab);
      }
      if (options.model() == null || streaming != null) extra.put("preprocessor_config.json", preprocessorConfig());
      if (trainedWords != null) extra.put(TrainingWords.FILE, trainedWords.document());
      ModelFolderWriter.write(model, config, sourceDir, out.resolve(BEST), extra);
    }

    private Map<String, Object> preprocessorConfig() {
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("do_normalize", normalizer.doNormalize());
      p.put("feature_extractor_type", "Wav2Vec2FeatureExtractor");
      p.put("feature_size", 1);
      p.put("padding_side", "right");
      p.put("padding_value", normalizer.paddingValue());
      p.put("return_attention_mask", true);
      p.put("sampling_rate", normalizer.samplingRate());
      return p;
    }

    private void writeCheckpoint(String status) throws IOException {
      if (!writes()) {
        lastCheckpointStep = step;
        return;
      }
      long epoch = step / stepsPerEpoch;
      TrainerState state = trainerState(status, null);
      Checkpoint.write(out, trainable, optimizer, new Checkpoint.State(Checkpoint.FORMAT, step, epoch,
          step % stepsPerEpoch, options.seed(), RANDOMNESS, batchesOf(epoch), trainData.fingerprint(),
          validData.fingerprint(), frozenChecksum, source, recipe, state, group.worldSize()));
      lastCheckpointStep = step;
      Json.write(out.resolve(TrainerState.FILE), state);
      listener.checkpointed(step);
    }

    private void writeTrainerState(String status, String reason) throws IOException {
      if (writes()) Json.write(out.resolve(TrainerState.FILE), trainerState(status, reason));
    }

    private TrainerState trainerState(String status, String reason) {
      return new TrainerState(run, status, source, trainData.name(), validData.name(), recipe,
          step, totalSteps, stepsPerEpoch, step / stepsPerEpoch, bestStep, Double.isInfinite(bestLoss) ? null : bestLoss,
          bestWer, evaluationsWithoutImprovement, reason, lastTrainLoss, seconds(), history);
    }

    private double seconds() {
      return secondsBefore + (System.nanoTime() - started) / 1e9;
    }

    @Override
    public void close() throws IOException {
      try {
        if (metrics != null) metrics.close();
      } finally {
        if (optimizer != null) optimizer.close();
        if (model != null) model.close();
        if (lock != null) {
          lock.close();
          lockChannel.close();
          Files.deleteIfExists(out.resolve(".lock"));
        }
      }
    }
  }

  /** {@code best/training.json}: where the model in best/ comes from. */
  public record BestModel(RunInfo run, String source, long step, double validLoss, double validWer, String validData,
      String trainScope) {}
}
