package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.io.RawTensor;
import java.io.IOException;
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
 * The convolution block runs its 1 x 1 convolutions as dense layers; against the block written with
 * {@code torch.conv1d} as HuggingFace writes it, in inference (the native dense layer) and in training (gradients reach
 * the stored [C, D, 1] weights).
 */
class ConvolutionModuleTest {
  private static final String PREFIX = "wav2vec2_conformer.encoder.layers.0.conv_module.";

  /** HuggingFace's block: LayerNorm, conv1d(k = 1), GLU over channels, depthwise conv1d, BatchNorm, swish, conv1d(k = 1). */
  private static Tensor reference(Map<String, Tensor> w, Tensor x, long kernel) {
    Tensor h = torch.layer_norm(x, new long[] {x.size(2)}, new TensorOptional(w.get("layer_norm.weight")),
        new TensorOptional(w.get("layer_norm.bias")), 1e-5, false).transpose(1, 2);
    h = torch.glu(torch.conv1d(h, w.get("pointwise_conv1.weight")), 1);
    h = torch.conv1d(h, w.get("depthwise_conv.weight"), new TensorOptional(), new long[] {1}, new long[] {(kernel - 1) / 2},
        new long[] {1}, h.size(1));
    h = torch.batch_norm(h, new TensorOptional(w.get("batch_norm.weight")), new TensorOptional(w.get("batch_norm.bias")),
        new TensorOptional(w.get("batch_norm.running_mean")), new TensorOptional(w.get("batch_norm.running_var")), false,
        0.1, 1e-5, true);
    h = torch.silu(h);
    return torch.conv1d(h, w.get("pointwise_conv2.weight")).transpose(1, 2);
  }

  private static ConvolutionModule block(ConformerConfig config, Map<String, RawTensor> weights) {
    return new ConvolutionModule(config, new StateDict("test", weights), PREFIX);
  }

  @Test
  void inferenceEqualsTheConvolutionForm() throws IOException {
    ConformerConfig config = ConformerConfig.read(FixtureTensors.modelDir().resolve("config.json"));
    assertThat(config.hiddenAct()).isEqualTo("swish");
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      ConvolutionModule block = block(config, InitialWeights.draw(config, 21));
      Map<String, Tensor> w = new LinkedHashMap<>();
      block.weights("", w);
      torch.manual_seed(21);
      for (long frames : new long[] {1, 16, 99, 300}) {  // native dense layers up to 224 rows, LibTorch beyond
        Tensor x = torch.randn(1, frames, config.hiddenSize());
        Tensor want = reference(w, x, config.depthwiseKernelSize());
        assertThat(block.forward(x).sub(want).abs().max().item_double()).as("T = " + frames).isLessThan(1e-5);
      }
    }
  }

  @Test
  void trainingGradientsReachTheStoredConvolutionWeights() throws IOException {
    ConformerConfig config = ConformerConfig.read(FixtureTensors.modelDir().resolve("config.json"));
    try (PointerScope scope = new PointerScope()) {
      ConvolutionModule block = block(config, InitialWeights.draw(config, 22));
      Map<String, Tensor> w = new LinkedHashMap<>();
      block.weights("", w);
      for (String name : new String[] {"pointwise_conv1.weight", "pointwise_conv2.weight", "depthwise_conv.weight"}) {
        w.get(name).requires_grad_(true);
      }
      torch.manual_seed(22);
      Tensor x = torch.randn(2, 9, config.hiddenSize());
      block.forward(x).pow(new Scalar(2)).sum().backward();
      Map<String, Tensor> ours = new LinkedHashMap<>();
      for (String name : new String[] {"pointwise_conv1.weight", "pointwise_conv2.weight"}) {
        ours.put(name, w.get(name).grad().clone());
        w.get(name).grad().zero_();
      }
      reference(w, x, config.depthwiseKernelSize()).pow(new Scalar(2)).sum().backward();
      for (String name : ours.keySet()) {
        Tensor want = w.get(name).grad();
        assertThat(want.abs().max().item_double()).as(name).isGreaterThan(0.0);
        assertThat(ours.get(name).sub(want).abs().max().item_double()).as(name).isLessThan(1e-4);
      }
    }
  }
}
