package dev.mha2mla.model;

import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * One conformer block (Macaron style):
 * x += FFN1(LN(x)) / 2;  x += Attn(LN(x));  x += Conv(x);  x += FFN2(LN(x)) / 2;  x = LN(x).
 */
public final class ConformerLayer implements HasWeights {
  private final LayerNorm ffn1Norm;
  private final FeedForward ffn1;
  private final LayerNorm attentionNorm;
  private SelfAttention attention;
  private final ConvolutionModule conv;
  private final LayerNorm ffn2Norm;
  private final FeedForward ffn2;
  private final LayerNorm finalNorm;

  public ConformerLayer(ConformerConfig c, StateDict sd, String prefix, SelfAttention attention) {
    long d = c.hiddenSize();
    double eps = LayerNorm.TORCH_DEFAULT_EPS;
    this.ffn1Norm = LayerNorm.load(sd, prefix + "ffn1_layer_norm", d, eps);
    this.ffn1 = new FeedForward(c, sd, prefix + "ffn1.");
    this.attentionNorm = LayerNorm.load(sd, prefix + "self_attn_layer_norm", d, eps);
    this.attention = attention;
    this.conv = new ConvolutionModule(c, sd, prefix + "conv_module.");
    this.ffn2Norm = LayerNorm.load(sd, prefix + "ffn2_layer_norm", d, eps);
    this.ffn2 = new FeedForward(c, sd, prefix + "ffn2.");
    this.finalNorm = LayerNorm.load(sd, prefix + "final_layer_norm", d, eps);
  }

  public Tensor forward(Tensor x, Tensor relPos, PaddingMask mask, Trace trace, int index) {
    Scalar half = new Scalar(0.5);
    Tensor h = ffn1.forward(ffn1Norm.forward(x)).mul(half).add(x);
    Tensor attentionInput = attentionNorm.forward(h);
    if (trace != null) trace.record("attn_input" + index, attentionInput);
    Tensor a = attention.forward(attentionInput, relPos, mask);
    if (trace != null) trace.record("attn" + index, a);
    h = a.add(h);
    h = h.add(conv.forward(h, mask));
    h = ffn2.forward(ffn2Norm.forward(h)).mul(half).add(h);
    return finalNorm.forward(h);
  }

  /** One chunk of a stream, x [1, C, D]: the same block, attention over the session's cache, conv over its context. */
  public Tensor forwardChunk(Tensor x, StreamState state, int index) {
    Scalar half = new Scalar(0.5);
    Tensor h = ffn1.forward(ffn1Norm.forward(x)).mul(half).add(x);
    h = attention.forwardChunk(attentionNorm.forward(h), state.cache(), index, state.positions(index), state.zeroRow())
        .add(h);
    ConvolutionModule.Chunk c = conv.forwardChunk(h, state.convContext(index));
    state.setConvContext(index, c.context());
    h = h.add(c.out());
    h = ffn2.forward(ffn2Norm.forward(h)).mul(half).add(h);
    return finalNorm.forward(h);
  }

  public SelfAttention attention() {
    return attention;
  }

  /** Swaps the attention block (conversion to MLA); returns the old one. */
  public SelfAttention replaceAttention(SelfAttention replacement) {
    SelfAttention old = attention;
    attention = replacement;
    return old;
  }

  public ConvolutionModule conv() {
    return conv;
  }

  @Override
  public void weights(String prefix, Map<String, Tensor> out) {
    ffn1Norm.weights(prefix + "ffn1_layer_norm.", out);
    ffn1.weights(prefix + "ffn1.", out);
    attentionNorm.weights(prefix + "self_attn_layer_norm.", out);
    attention.weights(prefix + "self_attn.", out);
    conv.weights(prefix + "conv_module.", out);
    ffn2Norm.weights(prefix + "ffn2_layer_norm.", out);
    ffn2.weights(prefix + "ffn2.", out);
    finalNorm.weights(prefix + "final_layer_norm.", out);
  }
}
