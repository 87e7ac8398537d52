package dev.mha2mla.cli;

import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.pipeline.Sweep;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code mha2mla sweep}: the WER-against-cache frontier of a conversion, before and after a short fine-tune. */
@Command(
    name = "sweep",
    header = "Map WER against cache size over cache budgets and conversion methods, with a control arm.",
    mixinStandardHelpOptions = true,
    description = {
      "At each cache budget and with each conversion method, convert the MHA model, score it on the test data, "
          + "fine-tune it briefly and score it again; a control arm fine-tunes the MHA model with the same recipe. "
          + "Writes SWEEP_REPORT.md (WER with 95%% intervals, paired differences to the MHA model and to the control), "
          + "sweep.json and sweep_wer_vs_cache.png. A rerun with the same --results continues where it stopped."
    })
final class SweepCommand implements Callable<Integer> {
  @Option(names = "--model", paramLabel = "DIR", description = "MHA model folder (default: the shipped small model).")
  Path model;

  @Option(names = "--train", required = true, paramLabel = "DATA", description = "Training data (also the calibration audio).")
  Path train;

  @Option(names = "--valid", required = true, paramLabel = "DATA", description = "Validation data.")
  Path valid;

  @Option(names = "--test", required = true, paramLabel = "DATA", description = "Test data.")
  Path test;

  @Option(names = "--results", required = true, paramLabel = "DIR", description = "Results folder.")
  Path results;

  @Option(names = "--cache-budgets", defaultValue = "0.125,0.0625,0.03125", paramLabel = "LIST",
      description = "Shares of the MHA cache to keep (default: ${DEFAULT-VALUE}, 8x, 16x and 32x smaller).")
  String budgets;

  @Option(names = "--methods", defaultValue = "uniform-plain,uniform-whitened,budget-whitened", paramLabel = "LIST",
      description = "Of uniform-plain, uniform-whitened, budget-plain, budget-whitened (default: ${DEFAULT-VALUE}).")
  String methods;

  @Option(names = "--train-utterances", defaultValue = "0", paramLabel = "N", description = "Training utterances (0 = all).")
  int trainUtterances;

  @Option(names = "--eval-utterances", defaultValue = "0", paramLabel = "N", description = "Test utterances (0 = all).")
  int evalUtterances;

  @Option(names = "--steps", defaultValue = "300", paramLabel = "N", description = "Fine-tuning updates per model (default: ${DEFAULT-VALUE}).")
  long steps;

  @Option(names = "--batch-size", defaultValue = "8", paramLabel = "B", description = "Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Option(names = "--lr", defaultValue = "3e-4", paramLabel = "LR", description = "Default: ${DEFAULT-VALUE}.")
  double lr;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the subsets and the fine-tunes (default: ${DEFAULT-VALUE}).")
  long seed;

  @Mixin
  DeviceOption device;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    CpuThreads.configure(0);
    String deviceName = device.name();
    Path source = model != null ? model : PipelineCommand.shippedModel();
    List<Double> shares = Usage.check(spec, () -> parseBudgets(budgets));
    List<Sweep.Method> arms = Usage.check(spec, () -> {
      List<Sweep.Method> out = new ArrayList<>();
      for (String m : methods.split(",")) out.add(Sweep.Method.parse(m));
      return out;
    });
    Sweep.Options options = Usage.check(spec, () -> new Sweep.Options(source, train, valid, test, results, shares, arms,
        trainUtterances, evalUtterances, steps, batchSize, lr, seed, deviceName));
    if (!Files.isDirectory(source)) throw new IllegalArgumentException(source + ": no such model folder");
    System.out.println(new Sweep(options, System.err::println).run());
    return 0;
  }

  private static List<Double> parseBudgets(String text) {
    List<Double> out = new ArrayList<>();
    for (String part : text.split(",")) {
      try {
        out.add(Double.parseDouble(part.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--cache-budgets takes shares, comma-separated (e.g. 0.125,0.0625), got '" + text + "'");
      }
    }
    return out;
  }
}
