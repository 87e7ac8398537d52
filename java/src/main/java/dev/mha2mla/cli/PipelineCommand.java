package dev.mha2mla.cli;

import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.pipeline.Pipeline;
import dev.mha2mla.pipeline.PipelineOptions;
import dev.mha2mla.pipeline.PipelinePreset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Parameters;

/** {@code mha2mla pipeline quick|full}: the six steps and the comparison report. */
@Command(
    name = "pipeline",
    header = "Convert, evaluate, fine-tune and evaluate again, then write the comparison report.",
    mixinStandardHelpOptions = true,
    description = {
      "Convert MHA -> MLA, evaluate the MHA baseline, evaluate the converted model, fine-tune it for streaming,",
      "evaluate the fine-tuned model and write COMPARISON_REPORT.txt / REPORT.md with plots. Every model is scored",
      "on whole utterances and as a live stream at each --stream-chunks size. Each finished step",
      "is skipped on rerun (pass the same --results), an interrupted one is redone; fine-tuning resumes.",
      "Defaults: the shipped small model (models/conformer-small-synthetic) and a synthetic espeak-ng corpus made now."
    })
final class PipelineCommand implements Callable<Integer> {
  @Parameters(index = "0", defaultValue = "quick", paramLabel = "quick|full", description = "Preset (default: ${DEFAULT-VALUE}).")
  String preset;

  @Option(names = "--model", paramLabel = "DIR", description = "MHA model folder (default: the shipped small model).")
  Path model;

  @Option(names = "--train", paramLabel = "DATA", description = "Training data (LibriSpeech folder or TSV manifest).")
  Path train;

  @Option(names = "--valid", paramLabel = "DATA", description = "Validation data (needed with --train).")
  Path valid;

  @Option(names = "--test", paramLabel = "DATA", description = "Test data.")
  Path test;

  @Option(names = "--results", paramLabel = "DIR", description = "Results folder (default: results/pipeline_YYYYMMDD_HHMMSS).")
  Path results;

  @Option(names = "--latent-dim", paramLabel = "R", description = "One latent size for every layer (full preset's "
      + "default: hidden / 2).")
  Integer latentDim;

  @Option(names = "--cache-budget", paramLabel = "F", description = "Share of the MHA cache to keep, ranks allocated per "
      + "layer (quick preset's default: 0.03125, 32x smaller, where the shipped model loses accuracy and fine-tuning "
      + "recovers most of it).")
  Double cacheBudget;

  @Option(names = "--method", defaultValue = "joint", paramLabel = "joint|split", description = "SVD method (default: joint).")
  ConversionMethod method;

  @Option(names = "--whiten", description = "Whitened SVD, calibrated on the training data.")
  boolean whiten;

  @Mixin
  DeviceOption device;

  @Option(names = "--seed", defaultValue = "1", description = "Seed for the corpus, subsets and training (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--synth-count", paramLabel = "N", description = "Utterances of the synthetic corpus.")
  Integer synthCount;

  @Option(names = "--train-utterances", paramLabel = "N", description = "Training utterances (0 = all).")
  Integer trainUtterances;

  @Option(names = "--eval-utterances", paramLabel = "N", description = "Test utterances scored per model (0 = all).")
  Integer evalUtterances;

  @Option(names = "--benchmark-utterances", paramLabel = "N", description = "Test utterances timed per model.")
  Integer benchmarkUtterances;

  @Option(names = "--epochs", paramLabel = "N") Integer epochs;
  @Option(names = "--max-steps", paramLabel = "N") Long maxSteps;
  @Option(names = "--batch-size", paramLabel = "B") Integer batchSize;
  @Option(names = "--lr", paramLabel = "LR") Double lr;
  @Option(names = "--patience", paramLabel = "P") Integer patience;
  @Option(names = "--eval-every", paramLabel = "N") Long evalEvery;

  @Option(names = "--streaming", negatable = true,
      description = "Fine-tune chunk-aware so the MLA model streams (full preset's default); --no-streaming fine-tunes "
          + "on whole utterances only (quick preset's default: 300 updates recover whole-utterance accuracy, a streaming "
          + "model needs thousands).")
  Boolean streaming;

  @Option(names = "--stream-chunks", paramLabel = "LIST", defaultValue = "1,4,16,64",
      description = "Chunk sizes in frames (20 ms each) at which every model is also decoded as a live stream "
          + "(default: ${DEFAULT-VALUE}).")
  String streamChunks;

  @Option(names = "--left-context", paramLabel = "FRAMES", defaultValue = "512",
      description = "Left context of those streams and of the streaming fine-tune (default: ${DEFAULT-VALUE}).")
  int leftContext;

  @Mixin
  ManifestPathsOption outsidePaths;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    CpuThreads.configure(0);
    PipelinePreset p = Usage.check(spec, () -> PipelinePreset.named(preset));
    Path source = model != null ? model : shippedModel();
    Path out = results != null ? results
        : Path.of("results", "pipeline_" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss")));
    PipelineOptions.Builder b = PipelineOptions.builder(p, source, out).train(train).valid(valid).test(test)
        .latentDim(latentDim).method(method).whiten(whiten)
        .device(device.name()).seed(seed).streamChunks(Usage.check(spec, () -> parseChunks(streamChunks)))
        .leftContext(leftContext);
    if (cacheBudget != null) b.cacheBudget(cacheBudget);
    if (synthCount != null) b.synthCount(synthCount);
    if (trainUtterances != null) b.trainLimit(trainUtterances);
    if (evalUtterances != null) b.evalLimit(evalUtterances);
    if (benchmarkUtterances != null) b.benchmarkLimit(benchmarkUtterances);
    if (epochs != null) b.epochs(epochs);
    if (maxSteps != null) b.maxSteps(maxSteps);
    if (batchSize != null) b.batchSize(batchSize);
    if (lr != null) b.learningRate(lr);
    if (patience != null) b.patience(patience);
    if (evalEvery != null) b.evalEvery(evalEvery);
    if (streaming != null) b.streaming(streaming);
    PipelineOptions options = Usage.check(spec, b::build);
    if (model == null && !Files.isDirectory(source)) {
      throw new IllegalArgumentException(source + ": the shipped small model is missing; pass --model DIR");
    }
    Pipeline pipeline = new Pipeline(options, Pipeline.ModelBenchmark.onUtterances(1, 3), System.err::println)
        .allowOutsidePaths(outsidePaths.allowed);
    System.err.print(pipeline.plan());
    Pipeline.PipelineResult result = pipeline.run();
    System.out.println(result.report());
    return 0;
  }

  /** models/conformer-small-synthetic beside the launcher (the repository root), or below the working directory. */
  static Path shippedModel() {
    String home = System.getProperty("mha2mla.home");
    return Path.of(home != null ? home : ".").resolve("models").resolve("conformer-small-synthetic");
  }

  private static List<Integer> parseChunks(String text) {
    List<Integer> out = new ArrayList<>();
    for (String part : text.split(",")) {
      try {
        out.add(Integer.parseInt(part.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--stream-chunks takes frame counts, comma-separated (e.g. 1,4,16,64), got '"
            + text + "'");
      }
    }
    return out;
  }

}
