package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;
import dev.mha2mla.kernels.TorchTensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java model reproduces HuggingFace's own outputs on the conformer-tiny fixture, layer by layer. */
class ConformerCtcModelFixtureTest {
  private static ConformerCtcModel model;
  private static FixtureTensors inputs;
  private static FixtureTensors expected;

  @BeforeAll
  static void load() throws IOException {
    model = ConformerCtcModel.load(FixtureTensors.modelDir());
    inputs = FixtureTensors.open("inputs.safetensors");
    expected = FixtureTensors.open("expected.safetensors");
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static Map<String, Tensor> run(ConformerCtcModel m, Tensor input, long[] lengths) {
    Map<String, Tensor> trace = new LinkedHashMap<>();
    ConformerCtcModel.Output out = m.forward(input, lengths, trace::put);
    trace.put("argmax", out.logits().argmax(new org.bytedeco.pytorch.LongOptional(-1), false));
    return trace;
  }

  private static void assertMatches(String prefix, Map<String, Tensor> trace, boolean squeezeBatch) {
    int compared = 0;
    for (Map.Entry<String, Tensor> e : trace.entrySet()) {
      String name = prefix + e.getKey();
      if (!expected.has(name)) continue;
      Tensor mine = e.getValue();
      if (squeezeBatch && mine.dim() == 3 && !e.getKey().equals("rel_pos")) mine = mine.squeeze(0);
      if (squeezeBatch && e.getKey().equals("argmax")) mine = mine.squeeze(0);
      double diff = FixtureTensors.maxAbsDiff(mine, expected.tensor(name));
      System.out.printf("fixture %-32s max abs diff %.2e%n", name, diff);
      assertThat(diff).as("max |ours - HF| of %s", name).isLessThanOrEqualTo(
          e.getKey().equals("argmax") ? 0.0 : FixtureTensors.TOLERANCE);
      compared++;
    }
    assertThat(compared).as("tensors compared under " + prefix).isGreaterThanOrEqualTo(10);
  }

  @Test
  void aLoadedModelHasNnpackSwitchedOff() {
    // LibTorch enables NNPACK by default; its availability check warns on every convolution where it cannot start
    assertThat(torch.globalContext().userEnabledNNPACK()).isFalse();
  }

  @Test
  void singleUtterancesMatchEveryIntermediateTensor() {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      for (String[] pair : new String[][] {{"input_values.0", "single."}, {"input_values.1", "single1."}}) {
        Tensor input = inputs.tensor(pair[0]).unsqueeze(0);
        assertMatches(pair[1], run(model, input, null), true);
      }
    }
  }

  @Test
  void nativeKernelsAndLibTorchOperationsGiveTheSameNumbers() {
    assertThat(AttentionBackend.defaultBackend()).isEqualTo(AttentionBackend.NATIVE);
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor input = inputs.tensor("batch.input_values");
      long[] lengths = {20800, 14400};
      model.setAttentionBackend(AttentionBackend.TORCH);
      Map<String, Tensor> torchTrace = run(model, input, lengths);
      model.setAttentionBackend(AttentionBackend.NATIVE);
      Map<String, Tensor> nativeTrace = run(model, input, lengths);
      assertMatches("batch.", torchTrace, false);
      assertThat(FixtureTensors.maxAbsDiff(torchTrace.get("logits"), nativeTrace.get("logits"))).isLessThan(1e-5);
    } finally {
      model.setAttentionBackend(AttentionBackend.defaultBackend());
    }
  }

  @Test
  void paddedBatchMatchesHuggingFaceIncludingPaddingEffects() {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor input = inputs.tensor("batch.input_values");
      long[] mask = TorchTensors.toLongs(inputs.tensor("batch.attention_mask"));
      long[] lengths = new long[2];
      for (int i = 0; i < mask.length; i++) lengths[i / 20800] += mask[i];
      Map<String, Tensor> trace = run(model, input, lengths);
      assertMatches("batch.", trace, false);
      ConformerCtcModel.Output out = model.forward(input, lengths, null);
      long[] featureMask = TorchTensors.toLongs(expected.tensor("batch.feature_mask"));
      long[] expectedLengths = new long[2];
      for (int i = 0; i < featureMask.length; i++) expectedLengths[i / 64] += featureMask[i];
      assertThat(out.frameLengths()).containsExactly(expectedLengths);
    }
  }

  @Test
  void pytorchBinCheckpointGivesTheSameLogits(@TempDir Path dir) throws IOException {
    for (String f : new String[] {"config.json", "vocab.json", "pytorch_model.bin"}) {
      Files.copy(FixtureTensors.modelDir().resolve(f), dir.resolve(f));
    }
    try (ConformerCtcModel fromBin = ConformerCtcModel.load(dir);
        PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor input = inputs.tensor("input_values.0").unsqueeze(0);
      Tensor logits = fromBin.forward(input, null, null).logits().squeeze(0);
      assertThat(FixtureTensors.maxAbsDiff(logits, expected.tensor("single.logits"))).isLessThan(FixtureTensors.TOLERANCE);
    }
  }

  @Test
  void attentionUnitMatchesOnItsOwn() {
    FixtureTensors unit = FixtureTensors.open("attention-unit.safetensors");
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      SelfAttention attention = model.encoder().layers().get(0).attention();
      Tensor out = attention.forward(unit.tensor("hidden").unsqueeze(0), unit.tensor("rel_pos").squeeze(), null);
      assertThat(FixtureTensors.maxAbsDiff(out.squeeze(0), unit.tensor("output"))).isLessThan(FixtureTensors.TOLERANCE);
    }
  }
}
