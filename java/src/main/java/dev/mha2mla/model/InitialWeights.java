package dev.mha2mla.model;

import dev.mha2mla.io.RawTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The state dict of a newly built {@code Wav2Vec2ConformerForCTC}, drawn the way HuggingFace's
 * {@code Wav2Vec2ConformerPreTrainedModel._init_weights} draws it, so that training from scratch starts where the
 * Python model would:
 *
 * <pre>
 *   nn.Linear                  W ~ N(0, initializer_range^2), b = 0
 *   feature projection         W, b ~ U(-k, k), k = sqrt(1 / in_features)
 *   nn.Conv1d                  W ~ N(0, 2 / fan_in) (kaiming_normal_, fan_in = in/groups * kernel);
 *                              b ~ U(-k, k), k = sqrt(groups / (in * kernel))
 *   LayerNorm, GroupNorm       gamma = 1, beta = 0
 *   BatchNorm (torch default)  gamma = 1, beta = 0, running mean 0, running var 1, batches tracked 0
 *   pos_bias_u, pos_bias_v     xavier_uniform_: U(-a, a), a = sqrt(6 / (heads + head_dim))
 *   masked_spec_embed          U(0, 1)  (present when mask_time_prob or mask_feature_prob > 0)
 *   pos_conv_embed (unused)    v ~ N(0, (2 sqrt(1 / (kernel * D)))^2), g = |v| per tap (weight_norm, dim 2), b = 0
 * </pre>
 *
 * An MLA config gets its latent projections as plain Linears (kv_down without bias, k_up and v_up with).
 * Values come from one {@link SplittableRandom} seeded with the seed and consumed tensor by tensor in state-dict
 * order: the JDK specifies that generator's sequence, so a seed gives the same bits on every machine.
 */
public final class InitialWeights {
  private final ConformerConfig config;
  private final SplittableRandom random;
  private final Map<String, RawTensor> out = new LinkedHashMap<>();
  private final double std;

  private InitialWeights(ConformerConfig config, long seed) {
    this.config = config;
    this.random = new SplittableRandom(seed);
    this.std = config.raw().path("initializer_range").asDouble(0.02);
  }

  /** Every tensor of a fresh model under its HuggingFace name. */
  public static Map<String, RawTensor> draw(ConformerConfig config, long seed) {
    InitialWeights w = new InitialWeights(config, seed);
    w.drawAll();
    return w.out;
  }

  private void drawAll() {
    String p = ConformerCtcModel.PREFIX;
    long d = config.hiddenSize();
    double maskFeatureProb = config.raw().path("mask_feature_prob").asDouble(0.0);
    if (config.maskTimeProb() > 0 || maskFeatureProb > 0) put(p + "masked_spec_embed", uniform(0, 1, d), d);
    long in = 1;
    for (int i = 0; i < config.convDim().size(); i++) {
      long channels = config.convDim().get(i);
      String name = p + "feature_extractor.conv_layers." + i + ".";
      conv(name + "conv", channels, in, config.convKernel().get(i), 1, config.convBias());
      if (config.featExtractNorm().equals("layer") || i == 0) norm(name + "layer_norm", channels);
      in = channels;
    }
    norm(p + "feature_projection.layer_norm", in);
    double k = Math.sqrt(1.0 / in);
    put(p + "feature_projection.projection.weight", uniform(-k, k, d * in), d, in);
    put(p + "feature_projection.projection.bias", uniform(-k, k, d), d);
    positionalConv(p + "encoder.pos_conv_embed.conv.");
    for (int l = 0; l < config.numHiddenLayers(); l++) layer(l, p + "encoder.layers." + l + ".");
    norm(p + "encoder.layer_norm", d);
    linear("lm_head", config.vocabSize(), d, true);
  }

  private void layer(int layer, String prefix) {
    long d = config.hiddenSize();
    long ff = config.intermediateSize();
    norm(prefix + "ffn1_layer_norm", d);
    linear(prefix + "ffn1.intermediate_dense", ff, d, true);
    linear(prefix + "ffn1.output_dense", d, ff, true);
    norm(prefix + "self_attn_layer_norm", d);
    String a = prefix + "self_attn.";
    linear(a + "linear_q", d, d, true);
    if (config.isMla()) {
      long r = config.mla().latentDim(layer);
      linear(a + "kv_down", r, d, false);
      linear(a + "k_up", d, r, true);
      linear(a + "v_up", d, r, true);
    } else {
      linear(a + "linear_k", d, d, true);
      linear(a + "linear_v", d, d, true);
    }
    linear(a + "linear_out", d, d, true);
    linear(a + "linear_pos", d, d, false);
    long heads = config.numAttentionHeads();
    long dh = config.headDim();
    double bound = Math.sqrt(6.0 / (heads + dh));
    put(a + "pos_bias_u", uniform(-bound, bound, heads * dh), heads, dh);
    put(a + "pos_bias_v", uniform(-bound, bound, heads * dh), heads, dh);
    String c = prefix + "conv_module.";
    norm(c + "layer_norm", d);
    conv(c + "pointwise_conv1", 2 * d, d, 1, 1, false);
    conv(c + "depthwise_conv", d, d, config.depthwiseKernelSize(), d, false);
    put(c + "batch_norm.weight", constant(1f, d), d);
    put(c + "batch_norm.bias", constant(0f, d), d);
    put(c + "batch_norm.running_mean", constant(0f, d), d);
    put(c + "batch_norm.running_var", constant(1f, d), d);
    out.put(c + "batch_norm.num_batches_tracked", RawTensor.ofLongs(new long[0], new long[] {0}));
    conv(c + "pointwise_conv2", d, d, 1, 1, false);
    norm(prefix + "ffn2_layer_norm", d);
    linear(prefix + "ffn2.intermediate_dense", ff, d, true);
    linear(prefix + "ffn2.output_dense", d, ff, true);
    norm(prefix + "final_layer_norm", d);
  }

  /** Stored by HF but unused by the relative-position model: weight-normed conv [D, D/groups, K]. */
  private void positionalConv(String prefix) {
    long d = config.hiddenSize();
    long kernel = config.raw().path("num_conv_pos_embeddings").asLong(128);
    long groups = config.raw().path("num_conv_pos_embedding_groups").asLong(16);
    if (d % groups != 0) groups = 1;
    long perGroup = d / groups;
    float[] v = normal(2 * Math.sqrt(1.0 / (kernel * d)), d * perGroup * kernel);
    // weight_norm(dim=2): weight = g * v / |v|, norms over every axis but the kernel tap; g = |v| gives weight = v
    float[] g = new float[(int) kernel];
    for (int t = 0; t < kernel; t++) {
      double sum = 0;
      for (int i = t; i < v.length; i += (int) kernel) sum += (double) v[i] * v[i];
      g[t] = (float) Math.sqrt(sum);
    }
    put(prefix + "weight_g", g, 1, 1, kernel);
    put(prefix + "weight_v", v, d, perGroup, kernel);
    put(prefix + "bias", constant(0f, d), d);
  }

  private void linear(String name, long outFeatures, long inFeatures, boolean bias) {
    put(name + ".weight", normal(std, outFeatures * inFeatures), outFeatures, inFeatures);
    if (bias) put(name + ".bias", constant(0f, outFeatures), outFeatures);
  }

  private void conv(String name, long outChannels, long inChannels, long kernel, long groups, boolean bias) {
    long fanIn = inChannels / groups * kernel;
    put(name + ".weight", normal(Math.sqrt(2.0 / fanIn), outChannels * (inChannels / groups) * kernel),
        outChannels, inChannels / groups, kernel);
    if (bias) {
      double k = Math.sqrt((double) groups / (inChannels * kernel));
      put(name + ".bias", uniform(-k, k, outChannels), outChannels);
    }
  }

  private void norm(String name, long dim) {
    put(name + ".weight", constant(1f, dim), dim);
    put(name + ".bias", constant(0f, dim), dim);
  }

  private void put(String name, float[] values, long... shape) {
    out.put(name, RawTensor.ofFloats(shape, values));
  }

  private float[] normal(double sd, long n) {
    float[] v = new float[Math.toIntExact(n)];
    for (int i = 0; i < v.length; i++) v[i] = (float) (random.nextGaussian() * sd);
    return v;
  }

  private float[] uniform(double lo, double hi, long n) {
    float[] v = new float[Math.toIntExact(n)];
    for (int i = 0; i < v.length; i++) v[i] = (float) (lo + (hi - lo) * random.nextDouble());
    return v;
  }

  private static float[] constant(float value, long n) {
    float[] v = new float[Math.toIntExact(n)];
    java.util.Arrays.fill(v, value);
    return v;
  }
}
