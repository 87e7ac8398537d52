package dev.mha2mla.model;

import dev.mha2mla.kernels.TorchTensors;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/** Conformer stack: zero the padded frames, add nothing (positions enter through attention), run the layers, LayerNorm. */
public final class ConformerEncoder implements HasWeights {
  private final List<ConformerLayer> layers = new ArrayList<>();
  private final LayerNorm finalNorm;
  private final long hidden;

  public ConformerEncoder(ConformerConfig c, StateDict sd, String prefix,
      BiFunction<Integer, String, SelfAttention> attention) {
    this.hidden = c.hiddenSize();
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      String name = prefix + "layers." + i + ".";
      layers.add(new ConformerLayer(c, sd, name, attention.apply(i, name + "self_attn.")));
    }
    this.finalNorm = LayerNorm.load(sd, prefix + "layer_norm", c.hiddenSize(), c.layerNormEps());
  }

  /** x [B, T, D] -> [B, T, D]. */
  public Tensor forward(Tensor x, PaddingMask mask, Trace trace) {
    Tensor h = x;
    if (mask != null) {
      // padded frames enter the encoder as exact zeros
      h = h.mul(mask.valid().unsqueeze(-1).to(h.scalar_type()));
    }
    if (trace != null) trace.record("encoder_input", h);
    Tensor relPos = RelativePositionalEmbedding.table(h.size(1), hidden).to(h.device(), h.scalar_type());
    if (trace != null) trace.record("rel_pos", relPos);
    if (trace == null) {
      h = TorchTensors.chain(h, layers.size(), (i, in) -> layers.get(i).forward(in, relPos, mask, null, i));
    } else {
      // a trace may keep any intermediate, so nothing is released early
      for (int i = 0; i < layers.size(); i++) {
        h = layers.get(i).forward(h, relPos, mask, trace, i);
        trace.record("layer." + i, h);
      }
    }
    return finalNorm.forward(h);
  }

  /** One chunk of a stream: x [1, C, D] (projected features) to [1, C, D], through every layer's caches. */
  public Tensor forwardChunk(Tensor x, StreamState state) {
    Tensor h = x;
    for (int i = 0; i < layers.size(); i++) h = layers.get(i).forwardChunk(h, state, i);
    return finalNorm.forward(h);
  }

  /** The LayerNorm after the last layer. */
  public LayerNorm finalNorm() {
    return finalNorm;
  }

  public List<ConformerLayer> layers() {
    return Collections.unmodifiableList(layers);
  }

  @Override
  public void weights(String prefix, Map<String, Tensor> out) {
    for (int i = 0; i < layers.size(); i++) layers.get(i).weights(prefix + "layers." + i + ".", out);
    finalNorm.weights(prefix + "layer_norm.", out);
  }
}
