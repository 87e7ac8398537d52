package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.io.RawTensor;
import java.io.IOException;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * A frame-local feature encoder run in pieces of a few frames, each reading its frames' receptive fields, gives the
 * frames one pass over the whole input gives: the bound on long inputs' memory changes no number.
 */
class FeatureEncoderPiecesTest {
  @Test
  void piecesOfEveryLengthGiveTheWholePassFrames() throws IOException {
    ConformerConfig config = ConformerConfig.read(FixtureTensors.modelDir().resolve("config.json"));
    Map<String, RawTensor> weights = InitialWeights.draw(config, 5);
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      FeatureEncoder encoder = new FeatureEncoder(config, new StateDict("test", weights), "wav2vec2_conformer.feature_extractor.");
      assertThat(encoder.isFrameLocal()).isTrue();
      torch.manual_seed(11);
      // a length that leaves a partial last piece and a few samples past the last frame's receptive field
      long samples = 57 * encoder.totalStride() + encoder.minimumSamples() + 123;
      Tensor audio = torch.randn(2, samples);
      Tensor whole = encoder.forward(audio, Long.MAX_VALUE);
      assertThat(whole.size(2)).isEqualTo(encoder.frames(samples)).isEqualTo(58);
      for (long piece : new long[] {1, 7, 29, 57, 58}) {
        Tensor pieces = encoder.forward(audio, piece);
        assertThat(pieces.sizes().vec().get()).as("piece " + piece).containsExactly(whole.sizes().vec().get());
        double diff = pieces.sub(whole).abs().max().item_double();
        double scale = whole.abs().max().item_double();
        assertThat(diff).as("piece " + piece).isLessThanOrEqualTo(1e-6 * scale);
      }
    }
  }
}
