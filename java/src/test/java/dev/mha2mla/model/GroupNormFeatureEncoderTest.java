package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import dev.mha2mla.kernels.TorchTensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mha2mla.io.RawTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * The "group" feature encoder (wav2vec2-base style): GroupNorm with one group per channel after the first
 * conv only, no norm after the others. Checked against the formula written out by hand.
 */
class GroupNormFeatureEncoderTest {
  private static ConformerConfig groupConfig() throws IOException {
    ObjectNode json = (ObjectNode) new ObjectMapper().readTree(FixtureTensors.modelDir().resolve("config.json").toFile());
    json.put("feat_extract_norm", "group");
    json.put("conv_bias", false);
    return ConformerConfig.fromJson(json, "group-norm test config");
  }

  @Test
  void firstLayerIsNormalisedPerChannelOverTimeAndTheRestAreNot() throws IOException {
    ConformerConfig config = groupConfig();
    Map<String, RawTensor> weights = InitialWeights.draw(config, 7);
    assertThat(weights.keySet()).contains("wav2vec2_conformer.feature_extractor.conv_layers.0.layer_norm.weight")
        .doesNotContain("wav2vec2_conformer.feature_extractor.conv_layers.1.layer_norm.weight",
            "wav2vec2_conformer.feature_extractor.conv_layers.0.conv.bias");
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      StateDict sd = new StateDict("test", weights);
      FeatureEncoder encoder = new FeatureEncoder(config, sd, "wav2vec2_conformer.feature_extractor.");
      torch.manual_seed(3);
      Tensor audio = torch.randn(2, 4000);
      Tensor ours = encoder.forward(audio);

      // by hand: y = gelu(((x - mean_t) / sqrt(var_t + 1e-5)) * gamma + beta) after conv 0, then conv + gelu
      String p = "wav2vec2_conformer.feature_extractor.conv_layers.";
      Tensor x = audio.unsqueeze(1);
      for (int i = 0; i < config.convDim().size(); i++) {
        Tensor w = TorchTensors.fromRaw(weights.get(p + i + ".conv.weight"));
        x = torch.conv1d(x, w, new TensorOptional(), new long[] {config.convStride().get(i)}, new long[] {0}, new long[] {1}, 1);
        if (i == 0) {
          Tensor mean = x.mean(new long[] {2}, true, new org.bytedeco.pytorch.ScalarTypeOptional());
          Tensor centred = x.sub(mean);
          Tensor var = centred.mul(centred).mean(new long[] {2}, true, new org.bytedeco.pytorch.ScalarTypeOptional());
          Tensor gamma = TorchTensors.fromRaw(weights.get(p + "0.layer_norm.weight")).view(1, -1, 1);
          Tensor beta = TorchTensors.fromRaw(weights.get(p + "0.layer_norm.bias")).view(1, -1, 1);
          x = centred.div(var.add(new Scalar(1e-5)).sqrt()).mul(gamma).add(beta);
        }
        x = torch.gelu(x);
      }
      assertThat(ours.sub(x).abs().max().item_double()).isLessThan(1e-4);
      assertThat(ours.size(2)).isEqualTo(encoder.frames(4000));
    }
  }

  @Test
  void unsupportedConfigValuesFailAtLoad() throws IOException {
    ObjectNode json = (ObjectNode) new ObjectMapper().readTree(FixtureTensors.modelDir().resolve("config.json").toFile());
    for (String[] bad : new String[][] {{"position_embeddings_type", "rotary"}, {"feat_extract_norm", "batch"},
        {"hidden_act", "tanh"}, {"model_type", "wav2vec2"}}) {
      ObjectNode copy = json.deepCopy();
      copy.put(bad[0], bad[1]);
      assertThatThrownBy(() -> ConformerConfig.fromJson(copy, "config.json")).as(bad[0])
          .isInstanceOf(UnsupportedModelException.class).hasMessageContaining(bad[0].equals("model_type") ? "model_type" : bad[1]);
    }
    ObjectNode adapter = json.deepCopy();
    adapter.put("add_adapter", true);
    assertThatThrownBy(() -> ConformerConfig.fromJson(adapter, "config.json")).hasMessageContaining("add_adapter");
  }
}
