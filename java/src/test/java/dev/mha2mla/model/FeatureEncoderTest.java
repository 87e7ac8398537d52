package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.io.RawTensor;
import dev.mha2mla.kernels.TorchTensors;
import java.io.IOException;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * The "layer" feature encoder, run channels last as sums of per-tap matrix products, against HuggingFace's form written
 * out with LibTorch's own conv1d on [B, C, T] and LayerNorm over channels through transposes: the same frames and the
 * same input gradient, for one utterance and a batch, and the frames come out with channels contiguous.
 */
class FeatureEncoderTest {
  private static final String P = "wav2vec2_conformer.feature_extractor.conv_layers.";

  @Test
  void channelsLastProductsEqualConv1dWithTransposedLayerNorm() throws IOException {
    ConformerConfig config = ConformerConfig.read(FixtureTensors.modelDir().resolve("config.json"));
    Map<String, RawTensor> weights = InitialWeights.draw(config, 13);
    try (PointerScope scope = new PointerScope()) {
      FeatureEncoder encoder = new FeatureEncoder(config, new StateDict("test", weights), "wav2vec2_conformer.feature_extractor.");
      torch.manual_seed(17);
      for (int batch : new int[] {1, 3}) {
        Tensor audio = torch.randn(batch, 9 * encoder.totalStride() + encoder.minimumSamples() + 77).requires_grad_(true);
        Tensor ours = encoder.forward(audio);
        Tensor ref = reference(config, weights, audio);
        assertThat(ours.sizes().vec().get()).containsExactly(ref.sizes().vec().get());
        assertThat(ours.size(2)).isEqualTo(10);
        assertThat(ours.transpose(1, 2).is_contiguous()).isTrue();
        double scale = ref.abs().max().item_double();
        assertThat(ours.sub(ref).abs().max().item_double()).as("batch " + batch).isLessThanOrEqualTo(1e-5 * scale);

        // d(sum of frames * r)/d audio by both forms
        Tensor r = torch.randn(ref.sizes().vec().get());
        Tensor gOurs = grad(ours.mul(r).sum(), audio);
        Tensor gRef = grad(ref.mul(r).sum(), audio);
        double gScale = gRef.abs().max().item_double();
        assertThat(gScale).isGreaterThan(0);
        assertThat(gOurs.sub(gRef).abs().max().item_double()).as("batch " + batch).isLessThanOrEqualTo(1e-4 * gScale);
      }
    }
  }

  private static Tensor grad(Tensor loss, Tensor input) {
    TensorVector g = torch.grad(new TensorVector(loss), new TensorVector(input));
    return g.get(0);
  }

  /** conv1d on [B, C, T], LayerNorm over channels by transposing, GELU: HF's Wav2Vec2LayerNormConvLayer. */
  private static Tensor reference(ConformerConfig config, Map<String, RawTensor> weights, Tensor audio) {
    Tensor x = audio.unsqueeze(1);
    for (int i = 0; i < config.convDim().size(); i++) {
      Tensor w = TorchTensors.fromRaw(weights.get(P + i + ".conv.weight"));
      Tensor b = TorchTensors.fromRaw(weights.get(P + i + ".conv.bias"));
      x = torch.conv1d(x, w, new TensorOptional(b), new long[] {config.convStride().get(i)}, new long[] {0}, new long[] {1}, 1);
      Tensor t = torch.layer_norm(x.transpose(-2, -1), new long[] {x.size(1)},
          new TensorOptional(TorchTensors.fromRaw(weights.get(P + i + ".layer_norm.weight"))),
          new TensorOptional(TorchTensors.fromRaw(weights.get(P + i + ".layer_norm.bias"))), 1e-5, false);
      x = torch.gelu(t.transpose(-2, -1));
    }
    return x;
  }
}
