package dev.mha2mla.mla;

import dev.mha2mla.data.AudioFiles;
import dev.mha2mla.io.RunInfo;
import dev.mha2mla.kernels.KnownStack;
import dev.mha2mla.kernels.TorchTensors;
import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.model.AudioNormalizer;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.ConformerLayer;
import dev.mha2mla.model.LatentAttention;
import dev.mha2mla.model.Linear;
import dev.mha2mla.model.ModelFolderWriter;
import dev.mha2mla.model.MultiHeadAttention;
import dev.mha2mla.model.SelfAttention;
import dev.mha2mla.model.UnsupportedModelException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

/**
 * Converts every self-attention block of an MHA model folder to MLA and writes the converted folder
 * (DESIGN.md sections 2 and 5): per layer, factor [Wk; Wv] into W_down, W_uk, W_uv; keep Wq, Wo, Wpos,
 * u, w and the K/V biases; report what each layer lost in conversion.json.
 */
public final class MlaConverter {
  public static final String REPORT_FILE = "conversion.json";

  private final ConversionOptions options;
  private final IntConsumer layerDone;

  public MlaConverter(ConversionOptions options, IntConsumer layerDone) {
    this.options = options;
    this.layerDone = layerDone == null ? i -> {} : layerDone;
  }

  /** Checks everything that can be checked before work starts; throws with a message naming the problem. */
  public ConformerConfig validate(Path modelDir, Path outDir, boolean overwrite) throws IOException {
    ConformerConfig config = ConformerConfig.read(modelDir.resolve("config.json"));
    if (config.isMla()) {
      throw new UnsupportedModelException(modelDir + ": this model is already converted to MLA (latent sizes "
          + config.mla().describe() + "); convert the original MHA model instead");
    }
    if (options.cacheBudget() != null) {
      long total = budgetTotal(config);
      if (total < config.numHiddenLayers()) {
        throw new IllegalArgumentException("--cache-budget " + options.cacheBudget() + " leaves " + total
            + " latent floats per frame for " + config.numHiddenLayers() + " layers: at least "
            + 1.0 / (2 * config.hiddenSize()) + " keeps one per layer");
      }
    }
    long max = options.method().maxLatentDim(config.hiddenSize());
    long min = options.method() == ConversionMethod.SPLIT ? 2 : 1;
    if (options.cacheBudget() == null && (options.latentDim() < min || options.latentDim() > max)) {
      throw new IllegalArgumentException("--latent-dim " + options.latentDim() + " is out of range for "
          + options.method().name().toLowerCase() + " conversion of a model with hidden size " + config.hiddenSize()
          + ": use " + min + ".." + max);
    }
    if (options.whiten() && options.calibration().isEmpty()) {
      throw new IllegalArgumentException("--whiten needs --calibration DATA (audio to estimate the input covariance)");
    }
    if (!overwrite && Files.exists(outDir) && (!Files.isDirectory(outDir) || Files.list(outDir).findAny().isPresent())) {
      throw new IllegalArgumentException(outDir + ": output folder exists and is not empty (choose another --out or pass --overwrite)");
    }
    if (outDir.toAbsolutePath().normalize().equals(modelDir.toAbsolutePath().normalize())) {
      throw new IllegalArgumentException("--out must differ from --model (the source model is never overwritten)");
    }
    return config;
  }

  /** Converts on a thread with a known stack (see {@link KnownStack}): the caller's may be too small for LAPACK. */
  public ConversionReport convert(Path modelDir, Path outDir, boolean overwrite) throws IOException {
    return KnownStack.call("mha2mla-convert", () -> {
      try (CpuThreads.Pinned pinned = CpuThreads.pin()) {
        return convertHere(modelDir, outDir, overwrite);
      }
    });
  }

  private ConversionReport convertHere(Path modelDir, Path outDir, boolean overwrite) throws IOException {
    long start = System.nanoTime();
    ConformerConfig config = validate(modelDir, outDir, overwrite);
    AudioNormalizer normalizer = AudioNormalizer.read(modelDir.resolve("preprocessor_config.json"));
    List<float[]> calibration = new ArrayList<>();
    List<float[]> heldOut = new ArrayList<>();
    readCalibration(normalizer, calibration, heldOut);
    SvdBackend svd = SvdBackend.forDevice(options.svdDevice());
    KvFactorizer factorizer = new KvFactorizer(svd, options.float64Svd());
    boolean balance = options.balance() && !calibration.isEmpty();

    try (ConformerCtcModel model = ConformerCtcModel.load(modelDir);
        CalibrationStatistics stats = calibration.isEmpty() ? null : CalibrationStatistics.collect(model, calibration)) {
      List<ConformerLayer> layers = model.encoder().layers();
      List<RankAllocation.LayerRank> allocation = options.cacheBudget() == null ? null
          : RankAllocation.allocate(spectra(layers, factorizer, stats, balance), budgetTotal(config), 1,
              (int) config.hiddenSize());
      List<Integer> ranks = new ArrayList<>();
      for (int l = 0; l < layers.size(); l++) ranks.add(allocation == null ? options.latentDim() : allocation.get(l).rank());
      List<LatentAttention> converted = new ArrayList<>();
      List<LatentAttention> plain = new ArrayList<>();
      List<ConversionReport.Layer> reports = new ArrayList<>();
      for (int l = 0; l < layers.size(); l++) {
        long t0 = System.nanoTime();
        MultiHeadAttention mha = (MultiHeadAttention) layers.get(l).attention();
        Tensor wk = mha.key().weight();
        Tensor wv = mha.value().weight();
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
          Tensor c = stats == null ? null : stats.covariance(l);
          double a = balance ? KvFactorizer.keyValueBalance(wk, wv, c) : 1.0;
          int r = ranks.get(l);
          LatentFactors f = factorizer.factor(wk, wv, r, options.method(), options.whiten() ? c : null, options.ridge(), a);
          converted.add(latentFrom(mha, f));
          Double kvError = c == null ? null : kvError(wk, wv, f, c);
          Double kvErrorPlain = null;
          if (options.whiten()) {
            LatentFactors p = factorizer.factor(wk, wv, r, options.method(), null, options.ridge(), a);
            plain.add(latentFrom(mha, p));
            kvErrorPlain = kvError(wk, wv, p, c);
          }
          reports.add(new ConversionReport.Layer(l, r, allocation == null ? null : allocation.get(l).nextGain(),
              f.energyKept(), weightError(wk, wv, f), kvError, kvErrorPlain, null, null, a,
              (System.nanoTime() - t0) / 1e9, svd.name(), f.singularValues()));
        }
        layerDone.accept(l);
      }
      if (!heldOut.isEmpty()) reports = withOutputErrors(model, heldOut, converted, plain, reports);
      for (int l = 0; l < layers.size(); l++) {
        MultiHeadAttention old = (MultiHeadAttention) layers.get(l).replaceAttention(converted.get(l));
        closeKeyValue(old);
      }
      for (LatentAttention p : plain) closeLatentOnly(p);
      ConformerConfig.MlaSettings settings = new ConformerConfig.MlaSettings(ranks,
          options.method().name().toLowerCase(), options.whiten(), modelDir.toAbsolutePath().normalize().toString());
      ConformerConfig mlaConfig = config.withMla(settings);
      long mhaFloats = 2L * config.hiddenSize();
      double mlaFloats = (double) settings.cacheFloatsPerFrame() / ranks.size();
      ConversionReport report = new ConversionReport(RunInfo.capture(options.svdDevice()),
          modelDir.toAbsolutePath().normalize().toString(), options.method().name().toLowerCase(),
          options.cacheBudget() == null ? options.latentDim() : null, options.cacheBudget(), ranks,
          allocationRule(options.whiten()), config.hiddenSize(), options.whiten(), balance, options.ridge(), svd.name(),
          options.float64Svd() ? "float64" : "float32", calibration.size(), stats == null ? 0 : stats.frames(),
          heldOut.size(), errorSource(calibration, heldOut), mhaFloats, mlaFloats, mhaFloats / mlaFloats,
          (System.nanoTime() - start) / 1e9, reports);
      Map<String, Object> extra = new LinkedHashMap<>();
      extra.put(REPORT_FILE, report);
      ModelFolderWriter.write(model, mlaConfig, modelDir, outDir, extra);
      return report;
    }
  }

  /** Latent floats per frame over all layers that the cache budget F allows: F * 2d * L, rounded down. */
  private long budgetTotal(ConformerConfig config) {
    return (long) Math.floor(options.cacheBudget() * 2.0 * config.hiddenSize() * config.numHiddenLayers() + 1e-9);
  }

  private String allocationRule(boolean whitened) {
    if (options.cacheBudget() == null) return "uniform: r = " + options.latentDim() + " in every layer";
    return "cache budget " + options.cacheBudget() + " of the MHA cache: ranks allocated greedily to minimise the summed "
        + "share of " + (whitened ? "K/V output energy on the calibration audio" : "K/V weight energy")
        + " lost; each layer stopped where its next direction (next_rank_gain) gained less than every rank given";
  }

  /**
   * Each layer's full spectrum of the matrix a joint conversion truncates (whitened by the layer's input covariance
   * when whitening, balanced as the conversion will be): the input of the rank allocation. Only the singular values
   * are kept, and each layer is factored again once its rank is known: holding every layer's full SVD would cost
   * 3 d^2 doubles per layer (24 MiB at d = 1024) for the time of one SVD per layer.
   */
  private List<double[]> spectra(List<ConformerLayer> layers, KvFactorizer factorizer, CalibrationStatistics stats,
      boolean balance) {
    List<double[]> out = new ArrayList<>();
    for (int l = 0; l < layers.size(); l++) {
      MultiHeadAttention mha = (MultiHeadAttention) layers.get(l).attention();
      try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        Tensor c = stats == null ? null : stats.covariance(l);
        double a = balance ? KvFactorizer.keyValueBalance(mha.key().weight(), mha.value().weight(), c) : 1.0;
        out.add(factorizer.factor(mha.key().weight(), mha.value().weight(), 1, ConversionMethod.JOINT,
            options.whiten() ? c : null, options.ridge(), a).singularValues());
      }
    }
    return out;
  }

  private String errorSource(List<float[]> calibration, List<float[]> heldOut) {
    if (heldOut.isEmpty()) return "none: no calibration audio was given";
    if (calibration.size() == 1 && options.calibration().size() == 1) return "the single calibration utterance (not held out)";
    return "held-out calibration audio (" + heldOut.size() + " utterances not used for the covariance)";
  }

  private void readCalibration(AudioNormalizer normalizer, List<float[]> calibration, List<float[]> heldOut)
      throws IOException {
    List<Path> files = new ArrayList<>();
    for (Path source : options.calibration()) files.addAll(AudioFiles.list(source));
    if (!options.calibration().isEmpty() && files.isEmpty()) {
      throw new IllegalArgumentException("calibration set " + options.calibration() + " holds no audio (*.wav) files");
    }
    if (files.isEmpty()) return;
    int forCovariance = files.size() == 1 ? 1 : Math.min(options.calibrationUtterances() > 0
        ? options.calibrationUtterances() : files.size(), files.size() - 1);
    for (int i = 0; i < forCovariance; i++) calibration.add(normalizer.normalize(AudioFiles.read(files.get(i), normalizer.samplingRate())));
    if (files.size() == 1) {
      heldOut.add(calibration.get(0));
      return;
    }
    int limit = Math.max(1, options.heldOutUtterances());
    for (int i = forCovariance; i < files.size() && heldOut.size() < limit; i++) {
      heldOut.add(normalizer.normalize(AudioFiles.read(files.get(i), normalizer.samplingRate())));
    }
  }

  private static LatentAttention latentFrom(MultiHeadAttention mha, LatentFactors f) {
    return new LatentAttention(mha.query(), new Linear(TorchTensors.keep(f.down()), null),
        new Linear(TorchTensors.keep(f.upK()), mha.key().bias()), new Linear(TorchTensors.keep(f.upV()), mha.value().bias()),
        mha.out(), mha.position(), mha.posBiasU(), mha.posBiasV(), mha.heads());
  }

  /** |[Wk; Wv] - [W_uk; W_uv] W_down|_F / |[Wk; Wv]|_F. */
  private static double weightError(Tensor wk, Tensor wv, LatentFactors f) {
    Tensor w = torch.cat(new TensorVector(wk, wv), 0).to(ScalarType.Double);
    Tensor approx = torch.matmul(torch.cat(new TensorVector(f.upK(), f.upV()), 0).to(ScalarType.Double),
        f.down().to(ScalarType.Double));
    return torch.linalg_norm(w.sub(approx)).item_double() / torch.linalg_norm(w).item_double();
  }

  /** tr(E C E^T) / tr(W C W^T), E = W - W_up W_down: the share of K/V energy lost on the calibration frames. */
  private static double kvError(Tensor wk, Tensor wv, LatentFactors f, Tensor c) {
    Tensor w = torch.cat(new TensorVector(wk, wv), 0).to(ScalarType.Double);
    Tensor approx = torch.matmul(torch.cat(new TensorVector(f.upK(), f.upV()), 0).to(ScalarType.Double),
        f.down().to(ScalarType.Double));
    Tensor e = w.sub(approx);
    double lost = torch.matmul(torch.matmul(e, c), e.t()).diagonal().sum().item_double();
    double total = torch.matmul(torch.matmul(w, c), w.t()).diagonal().sum().item_double();
    return lost / total;
  }

  /** Runs the MHA model on held-out audio and compares every layer's attention output with its MLA replacement. */
  private static List<ConversionReport.Layer> withOutputErrors(ConformerCtcModel model, List<float[]> heldOut,
      List<LatentAttention> converted, List<LatentAttention> plain, List<ConversionReport.Layer> reports) {
    int n = reports.size();
    double[] err = new double[n];
    double[] errPlain = new double[n];
    double[] ref = new double[n];
    for (float[] u : heldOut) {
      try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        Map<String, Tensor> trace = new LinkedHashMap<>();
        model.forward(TorchTensors.floats(u, 1, u.length), null, trace::put);
        Tensor relPos = trace.get("rel_pos");
        for (int l = 0; l < n; l++) {
          Tensor x = trace.get("attn_input" + l);
          Tensor expected = trace.get("attn" + l);
          ref[l] += squaredNorm(expected);
          err[l] += squaredNorm(converted.get(l).forward(x, relPos, null).sub(expected));
          if (!plain.isEmpty()) errPlain[l] += squaredNorm(plain.get(l).forward(x, relPos, null).sub(expected));
        }
      }
    }
    List<ConversionReport.Layer> out = new ArrayList<>();
    for (int l = 0; l < n; l++) {
      ConversionReport.Layer r = reports.get(l);
      out.add(new ConversionReport.Layer(r.layer(), r.latentDim(), r.nextRankGain(), r.energyKept(),
          r.relativeWeightError(), r.kvErrorOnCalibration(), r.kvErrorOnCalibrationPlain(), Math.sqrt(err[l] / ref[l]), plain.isEmpty() ? null : Math.sqrt(errPlain[l] / ref[l]),
          r.keyScale(), r.seconds(), r.backend(), r.singularValues()));
    }
    return out;
  }

  private static double squaredNorm(Tensor t) {
    double norm = torch.linalg_norm(t.to(ScalarType.Double)).item_double();
    return norm * norm;
  }

  private static void closeKeyValue(MultiHeadAttention old) {
    old.key().weight().close();
    old.value().weight().close();
  }

  /** Frees a comparison latent's own factors (its other tensors belong to the model). */
  private static void closeLatentOnly(LatentAttention p) {
    p.kvDown().weight().close();
    p.kUp().weight().close();
    p.vUp().weight().close();
  }
}
