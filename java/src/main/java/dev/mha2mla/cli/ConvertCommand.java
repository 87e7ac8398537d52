package dev.mha2mla.cli;

import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.mla.ConversionOptions;
import dev.mha2mla.mla.ConversionReport;
import dev.mha2mla.mla.MlaConverter;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.CpuThreads;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code mha2mla convert}: MHA model folder in, MLA model folder out. */
@Command(
    name = "convert",
    header = "Convert a model folder's multi-head attention to Multi-head Latent Attention by SVD.",
    mixinStandardHelpOptions = true,
    description = {
      "Convert every self-attention block of a Wav2Vec2-Conformer model folder to Multi-head Latent Attention by SVD",
      "of its K/V projections, and write the converted model (HuggingFace layout) with conversion.json, which gives",
      "per layer the spectral energy kept, the weight error and, with --calibration, the attention-output error."
    })
final class ConvertCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Source (MHA) model folder.")
  Path model;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where to write the converted model folder.")
  Path out;

  @Option(names = "--latent-dim", paramLabel = "R",
      description = "Latent floats per frame per layer (default: hidden size / 2; MHA caches 2 x hidden).")
  Integer latentDim;

  @Option(names = "--cache-budget", paramLabel = "F",
      description = "Instead of one --latent-dim: keep this share of the MHA cache (e.g. 0.125 = 8x smaller) and give "
          + "each layer the rank that minimises the summed predicted error (whitened spectra with --whiten, else the "
          + "weights'); joint method only.")
  Double cacheBudget;

  @Option(names = "--method", defaultValue = "joint", paramLabel = "joint|split",
      description = "joint: one SVD of [Wk; Wv]; split: separate SVDs of Wk and Wv with R/2 each. Default: ${DEFAULT-VALUE}.")
  ConversionMethod method;

  @Option(names = "--whiten", description = "Factor W C^1/2 with C the attention-input covariance on --calibration audio.")
  boolean whiten;

  @Option(names = "--calibration", paramLabel = "DATA", description = "Calibration audio: a WAV file, a folder of WAVs or a TSV manifest.")
  List<Path> calibration = new ArrayList<>();

  @Option(names = "--calibration-utterances", defaultValue = "" + ConversionOptions.CALIBRATION_UTTERANCES, paramLabel = "N",
      description = "Utterances used for the covariance (the next ones, up to --held-out, measure errors). Default: ${DEFAULT-VALUE}.")
  int calibrationUtterances;

  @Option(names = "--held-out", defaultValue = "" + ConversionOptions.HELD_OUT_UTTERANCES, paramLabel = "N",
      description = "Calibration utterances kept out of the covariance to measure output errors. Default: ${DEFAULT-VALUE}.")
  int heldOut;

  @Option(names = "--no-balance", negatable = false,
      description = "Do not scale K against V by their energy on the calibration audio before a joint SVD.")
  boolean noBalance;

  @Option(names = "--ridge", defaultValue = "" + ConversionOptions.RIDGE, paramLabel = "X",
      description = "Ridge added to the covariance, relative to its mean diagonal. Default: ${DEFAULT-VALUE}.")
  double ridge;

  @Mixin
  DeviceOption device;

  @Option(names = "--svd-precision", defaultValue = "float64", paramLabel = "float32|float64",
      description = "Precision of the SVD. Default: ${DEFAULT-VALUE}.")
  String precision;

  @Option(names = "--overwrite", description = "Replace --out if it exists (atomically, once the new model is complete).")
  boolean overwrite;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    CpuThreads.configure(0);
    Usage.require(spec, precision.equals("float32") || precision.equals("float64"),
        "--svd-precision must be float32 or float64, got '" + precision + "'");
    Usage.require(spec, ridge >= 0, "--ridge must be >= 0, got " + ridge);
    Usage.require(spec, latentDim == null || latentDim >= 1, "--latent-dim must be at least 1, got " + latentDim);
    Usage.require(spec, latentDim == null || cacheBudget == null, "give --latent-dim or --cache-budget, not both");
    String deviceName = device.name();
    ConversionMethod m = method;
    int r = latentDim != null ? latentDim : ConformerConfig.read(model.resolve("config.json")).defaultLatentDim();
    ConversionOptions options = Usage.check(spec, () -> ConversionOptions.builder(r, m).whiten(whiten).balance(!noBalance)
        .ridge(ridge).svdDevice(deviceName).float64Svd(precision.equals("float64")).calibration(calibration)
        .calibrationUtterances(calibrationUtterances).heldOutUtterances(heldOut).cacheBudget(cacheBudget).build());
    // the model's own limits on the options (r against its hidden size, the output folder); a bad model file is an
    // IOException and stays a failure
    int layers;
    try {
      layers = new MlaConverter(options, null).validate(model, out, overwrite).numHiddenLayers();
    } catch (IllegalArgumentException e) {
      throw Usage.error(spec, e.getMessage());
    }
    ConversionReport report;
    try (ProgressBar bar = new ProgressBarBuilder().setTaskName("convert").setInitialMax(layers)
        .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
        .setUnit(" layers", 1).build()) {
      report = new MlaConverter(options, l -> bar.step()).convert(model, out, overwrite);
    }
    System.out.printf("converted %d layers to MLA, latent %s per frame per layer (MHA caches %d: %.1fx smaller) -> %s%n",
        report.layers().size(), ConformerConfig.MlaSettings.describe(report.latentDims()),
        report.cacheFloatsPerFramePerLayerMha(), report.cacheReduction(), out);
    for (ConversionReport.Layer l : report.layers()) {
      System.out.printf("  layer %2d  r %4d  energy kept %6.2f%%  weight error %.4f%s%n", l.layer(), l.latentDim(), 100 * l.energyKept(),
          l.relativeWeightError(), l.relativeOutputError() == null ? ""
              : String.format("  output error %.4f%s", l.relativeOutputError(),
                  l.relativeOutputErrorPlain() == null ? "" : String.format(" (plain SVD %.4f)", l.relativeOutputErrorPlain())));
    }
    return 0;
  }
}
