package dev.mha2mla.mla;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import dev.mha2mla.model.LatentAttention;

import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.SafeTensorsReader;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.kernels.TorchTensors;
import dev.mha2mla.model.UnsupportedModelException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MHA -> MLA conversion on the conformer-tiny fixture (hidden 64, 2 layers). */
class MlaConverterTest {
  private static final Path SOURCE = Fixtures.conformerTiny();
  private static final List<Path> CALIBRATION = List.of(SOURCE.resolve("audio.wav"), SOURCE.resolve("audio1.wav"));
  private static float[] mhaLogits;

  @BeforeAll
  static void referenceLogits() throws IOException {
    mhaLogits = logits(SOURCE, LatentAttention.Form.EXPANDED);
  }

  /** Logits of utterance 0 (the fixture's input_values.0) from the model folder, with every MLA layer in {@code form}. */
  static float[] logits(Path modelDir, LatentAttention.Form form) throws IOException {
    try (ConformerCtcModel model = ConformerCtcModel.load(modelDir);
        PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      model.encoder().layers().forEach(l -> {
        if (l.attention() instanceof LatentAttention la) la.setForm(form);
      });
      Tensor input = TorchTensors.fromRaw(SafeTensorsReader.open(SOURCE.resolve("inputs.safetensors")).get("input_values.0"));
      return TorchTensors.toFloats(model.forward(input.unsqueeze(0), null, null).logits());
    }
  }

  static double maxAbsDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  }

  private static Path convert(Path dir, ConversionOptions options) throws IOException {
    Path out = dir.resolve("mla-" + options.method() + "-" + (options.cacheBudget() == null ? options.latentDim()
        : "budget" + options.cacheBudget()) + (options.whiten() ? "-w" : ""));
    new MlaConverter(options, null).convert(SOURCE, out, false);
    return out;
  }

  @Test
  void fullRankJointConversionReproducesTheMhaModelInBothForms(@TempDir Path dir) throws IOException {
    Path out = convert(dir, ConversionOptions.plain(64, ConversionMethod.JOINT));
    assertThat(maxAbsDiff(logits(out, LatentAttention.Form.EXPANDED), mhaLogits)).isLessThan(1e-4);
    assertThat(maxAbsDiff(logits(out, LatentAttention.Form.ABSORBED), mhaLogits)).isLessThan(1e-4);
  }

  @Test
  void fullRankSplitConversionReproducesTheMhaModelInBothForms(@TempDir Path dir) throws IOException {
    // split gives K and V r/2 each, so it is exact at r = 2d (each projection keeps its full rank d)
    Path out = convert(dir, ConversionOptions.plain(128, ConversionMethod.SPLIT));
    assertThat(maxAbsDiff(logits(out, LatentAttention.Form.EXPANDED), mhaLogits)).isLessThan(1e-4);
    assertThat(maxAbsDiff(logits(out, LatentAttention.Form.ABSORBED), mhaLogits)).isLessThan(1e-4);
  }

  @Test
  void errorShrinksMonotonicallyAsTheLatentGrows(@TempDir Path dir) throws IOException {
    double previousLogitError = Double.MAX_VALUE;
    double[] previousWeightError = {Double.MAX_VALUE, Double.MAX_VALUE};
    for (int r : new int[] {8, 16, 32, 48, 64}) {
      Path out = convert(dir, ConversionOptions.plain(r, ConversionMethod.JOINT));
      ConversionReport report = Json.read(out.resolve(MlaConverter.REPORT_FILE), ConversionReport.class);
      for (ConversionReport.Layer layer : report.layers()) {
        assertThat(layer.relativeWeightError()).as("layer %d at r=%d", layer.layer(), r)
            .isLessThan(previousWeightError[layer.layer()]);
        previousWeightError[layer.layer()] = layer.relativeWeightError();
      }
      double logitError = maxAbsDiff(logits(out, LatentAttention.Form.EXPANDED), mhaLogits);
      assertThat(logitError).as("logit error at r=%d", r).isLessThan(previousLogitError);
      previousLogitError = logitError;
    }
  }

  @Test
  void whitenedFactorsLoseLessOnTheCalibrationDataThanPlainSvdOnEveryLayer(@TempDir Path dir) throws IOException {
    ConversionOptions whitened = new ConversionOptions(24, ConversionMethod.JOINT, true, false, 1e-9, "cpu", true,
        CALIBRATION, 1, 1, null);
    Path out = convert(dir, whitened);
    ConversionReport report = Json.read(out.resolve(MlaConverter.REPORT_FILE), ConversionReport.class);
    assertThat(report.layers()).hasSize(2);
    for (ConversionReport.Layer layer : report.layers()) {
      assertThat(layer.kvErrorOnCalibration()).as("layer %d", layer.layer())
          .isLessThanOrEqualTo(layer.kvErrorOnCalibrationPlain());
      assertThat(layer.relativeOutputError()).isNotNull();
      assertThat(layer.relativeOutputErrorPlain()).isNotNull();
    }
    assertThat(report.outputErrorMeasuredOn()).contains("held-out");
  }

  /**
   * Under a cache budget the layers' ranks sum to F * 2d * L (0.1 * 128 * 2 = 25.6 -> 25: odd, so the two layers
   * differ), each layer's r is its weights' and config's, the summed predicted loss is no more than the uniform split's
   * closest to it, and the model saves and loads with its per-layer sizes.
   */
  @Test
  void aCacheBudgetGivesLayersTheirOwnRanks(@TempDir Path dir) throws IOException {
    Path out = convert(dir, ConversionOptions.plain(1, ConversionMethod.JOINT).withCacheBudget(0.1));
    ConversionReport report = Json.read(out.resolve(MlaConverter.REPORT_FILE), ConversionReport.class);
    assertThat(report.latentDim()).isNull();
    assertThat(report.cacheBudget()).isEqualTo(0.1);
    List<Integer> ranks = report.latentDims();
    assertThat(ranks.stream().mapToInt(Integer::intValue).sum()).isEqualTo(25);
    assertThat(ranks.get(0)).isNotEqualTo(ranks.get(1));
    assertThat(report.cacheReduction()).isCloseTo(256.0 / 25, org.assertj.core.data.Offset.offset(1e-9));
    double lost = 0;
    for (ConversionReport.Layer l : report.layers()) {
      assertThat(l.latentDim()).isEqualTo(ranks.get(l.layer()));
      assertThat(l.nextRankGain()).isNotNull().isPositive();
      lost += 1 - l.energyKept();
    }
    // the uniform split of the same total (12 and 13 in either order) loses at least as much
    Path uniform = convert(dir, ConversionOptions.plain(12, ConversionMethod.JOINT));
    ConversionReport u = Json.read(uniform.resolve(MlaConverter.REPORT_FILE), ConversionReport.class);
    double[] s0 = u.layers().get(0).singularValues(), s1 = u.layers().get(1).singularValues();
    double best = Math.min(lostAt(s0, 12) + lostAt(s1, 13), lostAt(s0, 13) + lostAt(s1, 12));
    assertThat(lost).isLessThanOrEqualTo(best + 1e-12);
    try (ConformerCtcModel model = ConformerCtcModel.load(out)) {
      assertThat(model.config().mla().latentDims()).isEqualTo(ranks);
      assertThat(model.cacheFloatsPerFrame()).isEqualTo(25);
      assertThat(SafeTensorsReader.open(out.resolve("model.safetensors")).get(
          "wav2vec2_conformer.encoder.layers.1.self_attn.kv_down.weight").shape()).containsExactly(ranks.get(1), 64L);
      Path again = dir.resolve("saved-again");
      dev.mha2mla.model.ModelFolderWriter.write(model, model.config(), out, again, java.util.Map.of());
      try (ConformerCtcModel reloaded = ConformerCtcModel.load(again)) {
        assertThat(reloaded.config().mla().latentDims()).isEqualTo(ranks);
      }
    }
    assertThat(Files.readString(out.resolve("config.json"))).doesNotContain("\"latent_dim\"");
  }

  /** sum_{i >= r} s_i^2 / sum s_i^2. */
  private static double lostAt(double[] s, int r) {
    double all = 0, tail = 0;
    for (int i = 0; i < s.length; i++) {
      all += s[i] * s[i];
      if (i >= r) tail += s[i] * s[i];
    }
    return tail / all;
  }

  @Test
  void convertedFolderHasMlaConfigLatentWeightsAndReport(@TempDir Path dir) throws IOException {
    Path out = convert(dir, ConversionOptions.plain(32, ConversionMethod.JOINT));
    var names = SafeTensorsReader.open(out.resolve("model.safetensors")).names();
    assertThat(names).contains("wav2vec2_conformer.encoder.layers.0.self_attn.kv_down.weight",
        "wav2vec2_conformer.encoder.layers.1.self_attn.k_up.bias", "wav2vec2_conformer.encoder.layers.1.self_attn.v_up.weight");
    assertThat(names).noneMatch(n -> n.contains("linear_k") || n.contains("linear_v"));
    assertThat(Files.readString(out.resolve("config.json"))).contains("\"latent_dim\" : 32");
    try (ConformerCtcModel model = ConformerCtcModel.load(out)) {
      assertThat(model.cacheFloatsPerFrame()).isEqualTo(2 * 32);   // two layers of r floats
      assertThat(model.config().isMla()).isTrue();
    }
    assertThat(Files.exists(out.resolve("vocab.json"))).isTrue();
  }

  @Test
  void badRequestsFailClearlyAndWriteNothing(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("never");
    for (int r : new int[] {0, -3, 65}) {
      assertThatThrownBy(() -> new MlaConverter(ConversionOptions.plain(r, ConversionMethod.JOINT), null).convert(SOURCE, out, false))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--latent-dim");
    }
    Path converted = convert(dir, ConversionOptions.plain(16, ConversionMethod.JOINT));
    assertThatThrownBy(() -> new MlaConverter(ConversionOptions.plain(8, ConversionMethod.JOINT), null).convert(converted, out, false))
        .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("already converted");
    Path notConformer = Files.createDirectories(dir.resolve("bert"));
    Files.writeString(notConformer.resolve("config.json"), "{\"model_type\": \"bert\", \"hidden_size\": 64}");
    assertThatThrownBy(() -> new MlaConverter(ConversionOptions.plain(8, ConversionMethod.JOINT), null).convert(notConformer, out, false))
        .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("wav2vec2-conformer");
    Path empty = Files.createDirectories(dir.resolve("empty-calibration"));
    ConversionOptions whiten = new ConversionOptions(16, ConversionMethod.JOINT, true, true, 1e-4, "cpu", true,
        List.of(empty), 8, 2, null);
    assertThatThrownBy(() -> new MlaConverter(whiten, null).convert(SOURCE, out, false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds no audio");
    ConversionOptions noData = new ConversionOptions(16, ConversionMethod.JOINT, true, true, 1e-4, "cpu", true,
        List.of(), 8, 2, null);
    assertThatThrownBy(() -> new MlaConverter(noData, null).convert(SOURCE, out, false))
        .hasMessageContaining("--whiten needs --calibration");
    assertThat(Files.exists(out)).isFalse();
    try (var siblings = Files.list(dir)) {
      assertThat(siblings.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".tmp-"));
    }
  }

  /**
   * Whitened conversion of the shipped model from a JVM whose threads get 1 MB of stack: LAPACK reached through
   * LibTorch needs more (2 MB crashed with SIGSEGV, exit 139), so the conversion must not run on the caller's stack.
   */
  @Test
  void whitenedConversionOfTheShippedModelDoesNotNeedABigCallerStack(@TempDir Path dir) throws Exception {
    Path calibration = Files.createDirectories(dir.resolve("calibration"));
    java.util.SplittableRandom random = new java.util.SplittableRandom(3);
    for (int i = 0; i < 4; i++) {
      float[] x = new float[16_000 + 4_000 * i];
      for (int k = 0; k < x.length; k++) x[k] = (float) (0.1 * random.nextGaussian() + 0.05 * Math.sin(k * 0.03 * (i + 1)));
      dev.mha2mla.io.WavWriter.write(calibration.resolve("c" + i + ".wav"), 16_000, x);
    }
    Path out = dir.resolve("whitened");
    Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xss1m",
        "-cp", System.getProperty("java.class.path"), "dev.mha2mla.cli.Main", "convert",
        "--model", Fixtures.repoRoot().resolve("models/conformer-small-synthetic").toString(), "--out", out.toString(),
        "--latent-dim", "18", "--whiten", "--calibration", calibration.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("convert.log").toFile()).start();
    assertThat(child.waitFor(5, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
    assertThat(child.exitValue()).as(Files.readString(dir.resolve("convert.log"))).isZero();
    assertThat(Json.MAPPER.readTree(out.resolve(MlaConverter.REPORT_FILE).toFile()).path("layers").size()).isEqualTo(4);
  }
}
