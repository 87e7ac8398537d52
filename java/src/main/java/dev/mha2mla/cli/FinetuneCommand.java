package dev.mha2mla.cli;

import dev.mha2mla.distributed.Group;
import dev.mha2mla.distributed.Rendezvous;
import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.train.AdamW;
import dev.mha2mla.train.Evaluation;
import dev.mha2mla.train.FinetuneOptions;
import dev.mha2mla.train.StepMetrics;
import dev.mha2mla.train.StreamingTraining;
import dev.mha2mla.train.TrainScope;
import dev.mha2mla.train.Trainer;
import dev.mha2mla.train.TrainingDivergedException;
import dev.mha2mla.train.TrainingListener;
import dev.mha2mla.train.TrainingResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code mha2mla finetune}: CTC fine-tuning of a (converted) model's attention, or training from scratch. */
@Command(
    name = "finetune",
    header = "Fine-tune a model folder with CTC on transcribed audio.",
    mixinStandardHelpOptions = true,
    description = {
      "Fine-tune a model folder with CTC on transcribed audio. By default only the",
      "self-attention blocks train (a converted model's latent projections, Wq, Wo,",
      "Wpos, u, w); every other tensor stays bit-identical.",
      "Every --eval-every updates: validation loss and WER. The model with the lowest",
      "validation loss goes to OUT/best (HuggingFace layout); OUT/checkpoint lets",
      "--resume continue exactly, even after kill -9. Metrics: OUT/metrics.csv,",
      "OUT/metrics.jsonl, TensorBoard events (tensorboard --logdir OUT) and",
      "OUT/trainer_state.json.",
      "With --init-config and --vocab instead of --model it trains a freshly",
      "initialised model (use --train-scope all).",
      "With --streaming it trains the model to stream: each update draws a chunk",
      "size from --chunks and computes exactly what a stream with that chunk and",
      "--left-context computes (attention within the chunk's window, no",
      "convolution past the chunk's end); the waveform normalisation becomes",
      "fixed statistics folded into the first convolution.",
      "Data-parallel: --nproc N on one machine, or torchrun's variables",
      "(WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT) or --world-size/--rank/--master",
      "per process; --batch-size stays the global batch, split over the processes,",
      "so the run computes what one process would.",
      ""
    })
final class FinetuneCommand implements Callable<Integer> {
  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  static final class Source {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model folder to fine-tune (MHA or converted MLA).")
    Path model;

    @Option(names = "--init-config", required = true, paramLabel = "FILE",
        description = "config.json of a model to initialise from scratch (HuggingFace _init_weights style; needs --vocab).")
    Path initConfig;
  }

  @Option(names = "--vocab", paramLabel = "FILE", description = "vocab.json (token -> id) for --init-config.")
  Path vocab;

  @Option(names = "--train", required = true, paramLabel = "DATA",
      description = "Training data: a TSV manifest (path<TAB>transcript) or a LibriSpeech folder.")
  Path train;

  @Option(names = "--valid", required = true, paramLabel = "DATA", description = "Validation data, same forms as --train.")
  Path valid;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (must be empty unless --resume).")
  Path out;

  @Option(names = "--epochs", defaultValue = "10", paramLabel = "N", description = "Passes over --train (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--max-steps", defaultValue = "0", paramLabel = "N",
      description = "Total updates; overrides --epochs and fixes the learning-rate schedule (default: from --epochs).")
  long maxSteps;

  @Option(names = "--stop-after", defaultValue = "0", paramLabel = "N",
      description = "Pause after N updates with a checkpoint; --resume continues as if never paused.")
  long stopAfter;

  @Option(names = "--batch-size", defaultValue = "8", paramLabel = "B",
      description = "Utterances per update, grouped by length (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--lr", defaultValue = "1e-4", paramLabel = "LR", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
  double lr;

  @Option(names = "--warmup", defaultValue = "-1", paramLabel = "N",
      description = "Linear warm-up updates, then linear decay to 0 (default: 10%% of the updates).")
  long warmup;

  @Option(names = "--patience", defaultValue = "5", paramLabel = "P",
      description = "Stop after P validations without a lower validation loss; 0 never stops early (default: ${DEFAULT-VALUE}).")
  int patience;

  @Option(names = "--eval-every", defaultValue = "500", paramLabel = "N",
      description = "Updates between validations (default: ${DEFAULT-VALUE}).")
  long evalEvery;

  @Option(names = "--checkpoint-every", defaultValue = "0", paramLabel = "N",
      description = "Updates between checkpoints (default: at every validation).")
  long checkpointEvery;

  @Option(names = "--train-scope", paramLabel = "attention|latent|encoder|all",
      description = "attention: every self-attention parameter; latent: only kv_down/k_up/v_up; encoder: everything "
          + "after the convolutional feature encoder; all: everything (default: attention; with --streaming: "
          + "encoder).")
  TrainScope scope;

  @Option(names = "--streaming", description = "Chunk-aware training: the model learns to stream at every size of --chunks.")
  boolean streaming;

  @Option(names = "--chunks", paramLabel = "LIST",
      description = "With --streaming: chunk sizes in frames (20 ms each) to draw from, and 'full' for whole utterances "
          + "(default: 1,4,8,16,32,full).")
  String chunks;

  @Option(names = "--left-context", paramLabel = "FRAMES",
      description = "With --streaming: earlier frames a chunk attends to; stream with the same (default: 512).")
  Integer leftContext;

  @Spec
  CommandSpec spec;

  @Mixin
  DeviceOption device;

  @Option(names = "--seed", defaultValue = "42", paramLabel = "S",
      description = "Seeds batch order, SpecAugment and --init-config weights (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--resume", description = "Continue the run in --out from its checkpoint (same settings and data).")
  boolean resume;

  @Option(names = "--weight-decay", defaultValue = "0.0", paramLabel = "W",
      description = "AdamW decoupled weight decay, not applied to biases and norms (default: ${DEFAULT-VALUE}).")
  double weightDecay;

  @Option(names = "--max-grad-norm", defaultValue = "1.0", paramLabel = "X",
      description = "Clip the global gradient norm to X; 0 disables (default: ${DEFAULT-VALUE}).")
  double maxGradNorm;

  @Mixin
  ManifestPathsOption outsidePaths;

  @Mixin
  DistributedOptions distributed;

  @Option(names = "--no-spec-augment", description = "Train without the config's SpecAugment masks.")
  boolean noSpecAugment;

  @Override
  public Integer call() throws Exception {
    Rendezvous where = distributed.rendezvous(spec);
    int local = distributed.localProcesses(spec);
    FinetuneOptions options;
    try {
      options = FinetuneOptions.builder()
          .model(source.model).initConfig(source.initConfig).vocab(vocab)
          .train(train).valid(valid).out(out)
          .epochs(epochs).maxSteps(maxSteps).stopAfterSteps(stopAfter).batchSize(batchSize)
          .learningRate(lr).warmupSteps(warmup).patience(patience).evalEvery(evalEvery).checkpointEvery(checkpointEvery)
          .scope(scope).device(device.name()).seed(seed).resume(resume)
          .optimizer(new AdamW.Settings(0.9, 0.999, 1e-8, weightDecay)).maxGradNorm(maxGradNorm)
          .specAugment(!noSpecAugment).streaming(streamingOptions()).allowOutsidePaths(outsidePaths.allowed)
          .build();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    if (local > 0) return LocalWorkers.run("finetune", local, distributed, Main.arguments);
    CpuThreads.configure(distributed.threads(where));
    TrainingResult result;
    try (Group group = Group.connect(where); Progress progress = new Progress(where.rank() == 0)) {
      result = new Trainer(options, group).run(progress);
      if (!group.isSingle()) {
        System.err.printf(Locale.ROOT, "%s: %.1f s of this run's %.1f s in collectives (gradient and loss sums, "
            + "validation gathers, waiting for the other ranks included)%n", where.describe(), group.collectiveSeconds(),
            result.seconds());
      }
    } catch (TrainingDivergedException e) {
      System.err.println("mha2mla finetune: error: " + e.getMessage());
      return 1;
    }
    if (where.rank() != 0) return 0;
    System.out.printf(Locale.ROOT, "%s after %d of %d updates: %s%n", result.status().replace('_', ' '), result.steps(),
        result.totalSteps(), result.stopReason());
    System.out.printf(Locale.ROOT, "validation loss %.4f -> best %.4f (step %d), WER %.2f%% -> %.2f%%%n",
        result.initial().loss(), result.best().loss(), result.best().step(), 100 * result.initial().wordErrorRate(),
        100 * result.best().wordErrorRate());
    System.out.println("best model: " + result.bestModel());
    System.out.println("checkpoint: " + result.checkpoint() + "   state: " + result.trainerState());
    return 0;
  }

  private StreamingTraining streamingOptions() {
    if (!streaming) {
      if (chunks != null || leftContext != null) throw new IllegalArgumentException("--chunks and --left-context need --streaming");
      return null;
    }
    return new StreamingTraining(chunks == null ? StreamingTraining.DEFAULT_CHUNKS : StreamingTraining.parseChunks(chunks),
        leftContext == null ? StreamingTraining.DEFAULT_LEFT_CONTEXT : leftContext, null);
  }

  /** Progress bars on stderr: one while the data is read, one for the updates (loss, learning rate, last validation, ETA). */
  private static final class Progress implements TrainingListener, AutoCloseable {
    // only rank 0 of a data-parallel run shows progress
    private final boolean shown;
    private ProgressBar bar;
    private String role;
    private String valid = "";

    Progress(boolean shown) {
      this.shown = shown;
    }

    @Override
    public void preparing(String role, int done, int total) {
      if (!shown) return;
      if (!role.equals(this.role)) {
        closeBar();
        this.role = role;
        bar = new ProgressBarBuilder().setTaskName("read " + role.substring(2)).setInitialMax(total)
            .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err))
            .setUnit(" utt", 1).build();
      }
      bar.stepTo(done);
    }

    @Override
    public void started(long step, long totalSteps) {
      closeBar();
      if (!shown) return;
      bar = new ProgressBarBuilder().setTaskName("finetune").setInitialMax(totalSteps).startsFrom(step, Duration.ZERO)
          .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err))
          .setUnit(" steps", 1).build();
    }

    @Override
    public void stepDone(StepMetrics m) {
      if (bar == null) return;
      bar.stepTo(m.step());
      bar.setExtraMessage(String.format(Locale.ROOT, " loss %.3f lr %.1e%s", m.loss(), m.learningRate(), valid));
    }

    @Override
    public void evaluated(Evaluation e) {
      valid = String.format(Locale.ROOT, " | valid %.3f WER %.1f%%%s", e.loss(), 100 * e.wordErrorRate(),
          e.improved() ? " *" : "");
      if (bar != null) bar.setExtraMessage(valid.strip());
    }

    private void closeBar() {
      if (bar != null) bar.close();
      bar = null;
    }

    @Override
    public void close() {
      closeBar();
    }
  }
}
