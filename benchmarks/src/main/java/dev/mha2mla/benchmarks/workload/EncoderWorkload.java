package dev.mha2mla.benchmarks.workload;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mha2mla.model.LatentAttention;
import dev.mha2mla.model.AttentionBackend;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.ConformerLayer;
import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The whole conformer encoder on a full utterance: hidden states [B, T, d] in (what the feature projection
 * hands it), the last hidden state out, every layer's attention computed as asked. The feature encoder and CTC
 * head are the same for MHA and MLA, so they are left out here; {@link dev.mha2mla.eval.bench.ModelBenchmark} times the whole model.
 */
public final class EncoderWorkload implements AutoCloseable {
  private final ConformerCtcModel model;
  private final Tensor hidden;

  private EncoderWorkload(ConformerCtcModel model, int batch, int frames, long seed) {
    this.model = model;
    torch.manual_seed(seed);
    this.hidden = RandomTensors.normal(1.0, batch, frames, model.config().hiddenSize());
  }

  /**
   * The flagship checkpoint's config (facebook/wav2vec2-conformer-rel-pos-large-960h-ft, values as listed in
   * fixtures/conformer-tiny/README.md): 24 layers, d = 1024, 16 heads, FFN 4096, depthwise kernel 31, 7 conv
   * layers of 512 channels. With {@code latent} non-null, the MLA version with that latent size.
   */
  public static ConformerConfig flagshipConfig(Integer latent) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    ObjectNode c = f.objectNode();
    c.put("model_type", "wav2vec2-conformer");
    c.putArray("architectures").add("Wav2Vec2ConformerForCTC");
    c.put("position_embeddings_type", "relative");
    c.put("hidden_size", 1024);
    c.put("num_hidden_layers", 24);
    c.put("num_attention_heads", 16);
    c.put("intermediate_size", 4096);
    c.put("hidden_act", "swish");
    c.put("conv_depthwise_kernel_size", 31);
    c.put("feat_extract_norm", "layer");
    c.put("do_stable_layer_norm", true);
    c.put("feat_extract_activation", "gelu");
    c.put("conv_bias", true);
    ArrayNode dims = c.putArray("conv_dim");
    for (int i = 0; i < 7; i++) dims.add(512);
    ArrayNode kernels = c.putArray("conv_kernel");
    for (int k : new int[] {10, 3, 3, 3, 3, 2, 2}) kernels.add(k);
    ArrayNode strides = c.putArray("conv_stride");
    for (int s : new int[] {5, 2, 2, 2, 2, 2, 2}) strides.add(s);
    c.put("num_feat_extract_layers", 7);
    c.put("num_conv_pos_embeddings", 128);
    c.put("num_conv_pos_embedding_groups", 16);
    c.put("layer_norm_eps", 1e-5);
    c.put("max_source_positions", 5000);
    c.put("vocab_size", 32);
    c.put("pad_token_id", 0);
    c.put("bos_token_id", 1);
    c.put("eos_token_id", 2);
    c.put("mask_time_prob", 0.05);
    c.put("initializer_range", 0.02);
    c.put("add_adapter", false);
    ConformerConfig config = ConformerConfig.fromJson(c, "flagship config (benchmark)");
    return latent == null ? config
        : config.withMla(ConformerConfig.MlaSettings.uniform(latent, config.numHiddenLayers(), "joint", false,
            "random initialisation (benchmark)"));
  }

  /** A randomly initialised model of {@code config} (speed does not depend on the weights' values). */
  public static EncoderWorkload random(ConformerConfig config, int batch, int frames, long seed) {
    return new EncoderWorkload(ConformerCtcModel.initialize(config, seed, null), batch, frames, seed);
  }

  /**
   * The models the suite compares, by name: {@code flagship_mha} and {@code flagship_mla} (r = 512), randomly
   * initialised; {@code tiny_mha}, the fixture model {@code conformer-tiny} (d = 64, 2 layers), and {@code tiny_mla}, its
   * conversion (joint SVD, r = d / 2). A {@code _absorbed} suffix on an MLA name runs its attention in absorbed form
   * (otherwise expanded, the form for full utterances). Attention runs on the native kernels.
   *
   * @param fixtures the shared fixtures folder (holds conformer-tiny); only the tiny models read it
   */
  public static EncoderWorkload named(String name, Path fixtures, int batch, int frames, long seed) throws IOException {
    boolean absorbed = name.endsWith("_absorbed");
    String base = absorbed ? name.substring(0, name.length() - "_absorbed".length()) : name;
    EncoderWorkload w = switch (base) {
      case "flagship_mha" -> random(flagshipConfig(null), batch, frames, seed);
      case "flagship_mla" -> random(flagshipConfig(512), batch, frames, seed);
      case "tiny_mha" -> load(tinyModel(fixtures), batch, frames, seed);
      case "tiny_mla" -> load(convertedTinyModel(fixtures), batch, frames, seed);
      default -> throw new IllegalArgumentException("unknown encoder model '" + name
          + "': use flagship_mha, flagship_mla, tiny_mha or tiny_mla (MLA ones optionally with _absorbed)");
    };
    if (absorbed && !w.model.config().isMla()) {
      w.close();
      throw new IllegalArgumentException(name + ": only MLA models have an absorbed form");
    }
    return w.configure(AttentionBackend.NATIVE, absorbed ? LatentAttention.Form.ABSORBED : LatentAttention.Form.EXPANDED);
  }

  private static Path tinyModel(Path fixtures) throws IOException {
    Path dir = fixtures.resolve("conformer-tiny");
    if (!java.nio.file.Files.isRegularFile(dir.resolve("config.json"))) {
      throw new java.nio.file.NoSuchFileException(dir + ": the fixture model conformer-tiny is not there (pass the shared fixtures folder)");
    }
    return dir;
  }

  /** The fixture model conformer-tiny converted to MLA (r = d / 2) in a temporary folder, deleted when the JVM exits. */
  private static Path convertedTinyModel(Path fixtures) throws IOException {
    Path source = tinyModel(fixtures);
    Path out = java.nio.file.Files.createTempDirectory("mha2mla-bench-tiny-mla");
    int r = ConformerConfig.read(source.resolve("config.json")).defaultLatentDim();
    new dev.mha2mla.mla.MlaConverter(dev.mha2mla.mla.ConversionOptions.plain(r, dev.mha2mla.mla.ConversionMethod.JOINT), null)
        .convert(source, out, true);
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(out)) {
      for (Path f : files.toList()) f.toFile().deleteOnExit();
    }
    out.toFile().deleteOnExit();
    return out;
  }

  /** A model folder (MHA or converted MLA). */
  public static EncoderWorkload load(Path dir, int batch, int frames, long seed) throws IOException {
    return new EncoderWorkload(ConformerCtcModel.load(dir), batch, frames, seed);
  }

  /**
   * Chooses how attention runs: the backend for every layer, and for MLA layers the form (expanded suits full
   * utterances; absorbed is here to show that it does not).
   */
  public EncoderWorkload configure(AttentionBackend backend, LatentAttention.Form form) {
    model.setAttentionBackend(backend);
    for (ConformerLayer layer : model.encoder().layers()) {
      if (layer.attention() instanceof LatentAttention la) la.setForm(form);
    }
    return this;
  }

  /** One encoder pass: [B, T, d] hidden states to the last hidden state. */
  public Tensor forward() {
    return model.encoder().forward(hidden, null, null);
  }

  public ConformerCtcModel model() {
    return model;
  }

  @Override
  public void close() {
    hidden.close();
    model.close();
  }
}
