package dev.mha2mla.cli;

import dev.mha2mla.eval.bench.BenchmarkReport;
import dev.mha2mla.eval.bench.ModelBenchmark;
import dev.mha2mla.io.BlasKernels;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RunInfo;
import dev.mha2mla.model.AttentionBackend;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.LatentAttention;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code mha2mla benchmark}: speed and memory of one model folder, written as {@code <model>_benchmark.json}. */
@Command(
    name = "benchmark",
    header = "Time a model folder on synthetic audio and measure its peak memory.",
    mixinStandardHelpOptions = true,
    description = {
      "Time a model folder (MHA or converted MLA) on synthetic audio of several lengths: warm-up passes, then timed",
      "passes (median and quartiles), then one pass for peak resident memory. Writes real-time factor, latency per",
      "second of audio, peak memory and the streaming cache per frame (and how many streams fit 1 GiB).",
      "For kernel-level and streaming comparisons use the JMH suite in benchmarks/ (see benchmarks/README.md)."
    })
final class BenchmarkCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model folder (config.json, weights, vocab.json).")
  Path model;

  @Mixin
  DeviceOption device;

  @Option(names = "--out", paramLabel = "FILE", description = "Where to write the JSON. Default: <model folder name>_benchmark.json here.")
  Path out;

  @Option(names = "--seconds", split = ",", defaultValue = "2,5,10,20", paramLabel = "S[,S...]",
      description = "Audio lengths to time, seconds per utterance. Default: ${DEFAULT-VALUE}.")
  List<Double> seconds;

  @Option(names = "--batch-size", defaultValue = "1", paramLabel = "B", description = "Utterances per forward pass. Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Option(names = "--warmup", defaultValue = "2", paramLabel = "N", description = "Untimed passes per length. Default: ${DEFAULT-VALUE}.")
  int warmup;

  @Option(names = "--repeats", defaultValue = "5", paramLabel = "N", description = "Timed passes per length. Default: ${DEFAULT-VALUE}.")
  int repeats;

  @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "CPU threads (0 = the cores other processes leave free, read before each pass). Default: ${DEFAULT-VALUE}.")
  int threads;

  @Option(names = "--attention", defaultValue = "native", paramLabel = "native|torch",
      description = "Attention by the fused native kernels or by LibTorch operations. Default: ${DEFAULT-VALUE}.")
  AttentionBackend attention;

  @Option(names = "--latent-form", defaultValue = "expanded", paramLabel = "expanded|absorbed",
      description = "MLA models only: rebuild K/V (best for full utterances) or attend over the latent. Default: ${DEFAULT-VALUE}.")
  LatentAttention.Form latentForm;

  @Option(names = "--no-ceilings", negatable = false,
      description = "Skip measuring the machine's copy bandwidth and matmul rate (about 2 s).")
  boolean noCeilings;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    LatentAttention.Form form = latentForm;
    Usage.require(spec, threads >= 0, "--threads must be 0 (all cores) or more, got " + threads);
    for (double s : seconds) Usage.require(spec, s > 0 && s <= 3600, "--seconds: each length must be in (0, 3600] s, got " + s);
    Usage.require(spec, repeats >= 1, "--repeats must be at least 1, got " + repeats);
    String deviceName = device.name();
    ModelBenchmark.Options options = Usage.check(spec, () -> new ModelBenchmark.Options(deviceName, seconds, batchSize, warmup,
        repeats, threads, attention, form, !noCeilings));
    Path target = out != null ? out : Path.of(model.toAbsolutePath().normalize().getFileName() + "_benchmark.json");
    BenchmarkReport report = new ModelBenchmark(options, s -> System.err.println("benchmark: " + s)).run(model);
    Json.write(target, report);
    System.out.printf("%s (%s%s, %d layers) on %s, %s threads, batch %d%n", model, report.attentionType(),
        report.latentDims() == null ? "" : " r=" + ConformerConfig.MlaSettings.describe(report.latentDims()), report.layers(),
        deviceName, report.adaptiveThreads() ? "up to " + report.threads() + " (the free cores)" : report.threads(), batchSize);
    System.out.println("  OpenBLAS kernels: " + report.run().blasKernels());
    System.out.println("  environment: " + RunInfo.describe(report.run().environment()));
    System.out.println("  malloc: " + report.run().malloc());
    String blasAdvice = BlasKernels.advice();
    if (blasAdvice != null && deviceName.equals("cpu")) System.err.println("benchmark: note: " + blasAdvice);
    System.out.println("  audio s   frames   median s    IQR s     RTF   ms per audio s   peak RSS MB  threads");
    for (BenchmarkReport.Length l : report.lengths()) {
      System.out.printf("  %7.2f  %7d  %9.4f  %7.4f  %6.4f  %15.1f  %12s  %7d%n", l.audioSeconds(), l.frames(), l.medianSeconds(),
          l.iqrSeconds(), l.realTimeFactor(), l.latencyMsPerAudioSecond(),
          l.peakMemoryBytes() == null ? "-" : String.format("%.1f", l.peakMemoryBytes() / 1048576.0), l.threadsUsed());
    }
    BenchmarkReport.Cache c = report.cache();
    if (report.latentDims() == null) {
      System.out.printf("  cache: %d bytes per frame per layer (K and V); %d streams fit 1 GiB at a %d-frame window%n",
          c.bytesPerFramePerLayer(), c.streamsWithinBudget(), c.windowFrames());
    } else {
      System.out.printf("  cache: %d bytes per frame per layer (MHA %d, %.1fx smaller); %d streams fit 1 GiB at a %d-frame window (MHA %d)%n",
          c.bytesPerFramePerLayer(), c.mhaBytesPerFramePerLayer(), c.reductionVsMha(), c.streamsWithinBudget(), c.windowFrames(),
          c.mhaStreamsWithinBudget());
    }
    System.out.println("wrote " + target);
    return 0;
  }
}
