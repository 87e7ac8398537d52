package dev.mha2mla.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The subset of a HuggingFace {@code Wav2Vec2ConformerConfig} that the CTC forward pass depends on,
 * plus the MLA fields a converted model adds. Values the forward pass does not support are rejected
 * at load time ({@link UnsupportedModelException}), never ignored.
 *
 * @param raw the whole config.json as read, so that a converted model can be written back with every
 *     field the source had (dropout rates, token ids, ...)
 */
public record ConformerConfig(
    int hiddenSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int intermediateSize,
    String hiddenAct,
    int depthwiseKernelSize,
    List<Integer> convDim,
    List<Integer> convKernel,
    List<Integer> convStride,
    boolean convBias,
    String featExtractNorm,
    String featExtractActivation,
    double layerNormEps,
    int maxSourcePositions,
    int vocabSize,
    int padTokenId,
    String ctcLossReduction,
    boolean ctcZeroInfinity,
    double maskTimeProb,
    int maskTimeLength,
    int maskTimeMinMasks,
    MlaSettings mla,
    ObjectNode raw) {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> ACTIVATIONS = Set.of("swish", "silu", "gelu", "relu");

  /** The MLA fields of a converted model: latent size per frame and layer, how it was made, from what. */
  public record MlaSettings(int latentDim, String method, boolean whitened, String sourceModel) {}

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  public boolean isMla() {
    return mla != null;
  }

  /** Reads and validates {@code config.json}. */
  public static ConformerConfig read(Path file) throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (NoSuchFileException | java.io.FileNotFoundException e) {
      throw new NoSuchFileException(file + ": config.json not found (a model folder needs config.json)");
    } catch (IOException e) {
      throw new UnsupportedModelException(file + ": not valid JSON: " + e.getMessage());
    }
    if (!(root instanceof ObjectNode obj)) {
      throw new UnsupportedModelException(file + ": expected a JSON object");
    }
    return fromJson(obj, file.toString());
  }

  public static ConformerConfig fromJson(ObjectNode obj, String source) {
    Fields f = new Fields(obj, source);
    String modelType = f.string("model_type", null);
    if (!"wav2vec2-conformer".equals(modelType)) {
      throw new UnsupportedModelException(source + ": model_type is " + (modelType == null ? "missing" : "'" + modelType + "'")
          + "; mha2mla handles Wav2Vec2-Conformer models (model_type \"wav2vec2-conformer\")");
    }
    JsonNode arch = obj.get("architectures");
    if (arch != null && arch.isArray() && arch.size() > 0) {
      boolean ctc = false;
      for (JsonNode a : arch) ctc |= "Wav2Vec2ConformerForCTC".equals(a.asText());
      if (!ctc) {
        throw new UnsupportedModelException(source + ": architectures " + arch + " has no Wav2Vec2ConformerForCTC head; "
            + "only CTC speech recognizers can be converted and evaluated");
      }
    }
    String posType = f.string("position_embeddings_type", "relative");
    if (!"relative".equals(posType)) {
      throw new UnsupportedModelException(source + ": position_embeddings_type '" + posType
          + "' is not supported yet; only \"relative\" (the rel-pos checkpoints) is");
    }
    if (f.bool("add_adapter", false)) {
      throw new UnsupportedModelException(source + ": add_adapter=true is not supported");
    }
    int hidden = f.positive("hidden_size");
    int heads = f.positive("num_attention_heads");
    if (hidden % heads != 0) {
      throw new UnsupportedModelException(source + ": hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
    }
    List<Integer> convDim = f.intList("conv_dim");
    List<Integer> convKernel = f.intList("conv_kernel");
    List<Integer> convStride = f.intList("conv_stride");
    if (convDim.size() != convKernel.size() || convDim.size() != convStride.size() || convDim.isEmpty()) {
      throw new UnsupportedModelException(source + ": conv_dim, conv_kernel and conv_stride must have the same non-zero length");
    }
    if (obj.has("num_feat_extract_layers") && f.positive("num_feat_extract_layers") != convDim.size()) {
      throw new UnsupportedModelException(source + ": num_feat_extract_layers disagrees with conv_dim's length");
    }
    String norm = f.string("feat_extract_norm", "group");
    if (!norm.equals("layer") && !norm.equals("group")) {
      throw new UnsupportedModelException(source + ": feat_extract_norm '" + norm + "' must be \"layer\" or \"group\"");
    }
    String hiddenAct = f.activation("hidden_act", "swish");
    String featAct = f.activation("feat_extract_activation", "gelu");
    String reduction = f.string("ctc_loss_reduction", "sum");
    if (!reduction.equals("sum") && !reduction.equals("mean")) {
      throw new UnsupportedModelException(source + ": ctc_loss_reduction '" + reduction + "' must be \"sum\" or \"mean\"");
    }
    int kernel = f.positive("conv_depthwise_kernel_size");
    if (kernel % 2 == 0) {
      throw new UnsupportedModelException(source + ": conv_depthwise_kernel_size " + kernel + " must be odd (same padding)");
    }
    MlaSettings mla = null;
    JsonNode m = obj.get("mla");
    if (m != null && !m.isNull()) {
      if (!m.isObject() || !m.path("latent_dim").canConvertToInt() || m.path("latent_dim").asInt() <= 0
          || m.path("latent_dim").asInt() > 2 * hidden) {
        throw new UnsupportedModelException(source + ": the \"mla\" block must hold a latent_dim in 1.." + 2 * hidden);
      }
      mla = new MlaSettings(m.get("latent_dim").asInt(), m.path("method").asText("joint"),
          m.path("whitened").asBoolean(false), m.path("source_model").asText(""));
    }
    return new ConformerConfig(hidden, f.positive("num_hidden_layers"), heads, f.positive("intermediate_size"),
        hiddenAct, kernel, convDim, convKernel, convStride, f.bool("conv_bias", false), norm, featAct,
        f.number("layer_norm_eps", 1e-5), f.positive("max_source_positions"), f.positive("vocab_size"),
        f.nonNegative("pad_token_id", 0), reduction, f.bool("ctc_zero_infinity", false),
        f.number("mask_time_prob", 0.0), f.nonNegative("mask_time_length", 10),
        f.nonNegative("mask_time_min_masks", 2), mla, obj.deepCopy());
  }

  /** This config with the MLA block set (the raw JSON gains an "mla" object). */
  public ConformerConfig withMla(MlaSettings settings) {
    ObjectNode copy = raw.deepCopy();
    ObjectNode m = copy.putObject("mla");
    m.put("latent_dim", settings.latentDim());
    m.put("method", settings.method());
    m.put("whitened", settings.whitened());
    m.put("source_model", settings.sourceModel());
    m.put("cache_floats_per_frame_per_layer", settings.latentDim());
    return fromJson(copy, "converted config");
  }

  /**
   * This config with a "streaming" block recording how the model was trained for streaming (informational: HF ignores
   * it, mha2mla reports it): the chunk sizes, the left context, and the waveform statistics folded into the first
   * convolution (null when this run folded none: those an earlier chunk-aware run folded stay recorded).
   */
  public ConformerConfig withStreaming(List<String> chunkFrames, int leftContextFrames, WaveformStatistics folded) {
    ObjectNode copy = raw.deepCopy();
    JsonNode earlier = raw.path("streaming").get("folded_waveform_normalization");
    ObjectNode s = copy.putObject("streaming");
    chunkFrames.forEach(s.putArray("chunk_frames")::add);
    s.put("left_context_frames", leftContextFrames);
    if (folded != null) {
      ObjectNode f = s.putObject("folded_waveform_normalization");
      f.put("mean", folded.mean());
      f.put("std", folded.std());
    } else if (earlier != null && earlier.isObject()) {
      s.set("folded_waveform_normalization", earlier.deepCopy());
    }
    return fromJson(copy, "streaming config");
  }

  /** Whether the config records chunk-aware training ({@link #withStreaming}). */
  public boolean isStreamingTrained() {
    return raw.has("streaming");
  }

  public String toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(raw) + "\n";
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Typed, validated access to config fields with messages that name the file and the field. */
  private record Fields(ObjectNode obj, String source) {
    int positive(String name) {
      JsonNode n = obj.get(name);
      if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
        throw new UnsupportedModelException(source + ": field '" + name + "' must be a positive integer, got " + n);
      }
      return n.asInt();
    }

    int nonNegative(String name, int dflt) {
      JsonNode n = obj.get(name);
      if (n == null || n.isNull()) return dflt;
      if (!n.canConvertToInt() || n.asInt() < 0) {
        throw new UnsupportedModelException(source + ": field '" + name + "' must be a non-negative integer, got " + n);
      }
      return n.asInt();
    }

    double number(String name, double dflt) {
      JsonNode n = obj.get(name);
      if (n == null || n.isNull()) return dflt;
      if (!n.isNumber()) throw new UnsupportedModelException(source + ": field '" + name + "' must be a number, got " + n);
      return n.asDouble();
    }

    boolean bool(String name, boolean dflt) {
      JsonNode n = obj.get(name);
      if (n == null || n.isNull()) return dflt;
      if (!n.isBoolean()) throw new UnsupportedModelException(source + ": field '" + name + "' must be true or false, got " + n);
      return n.asBoolean();
    }

    String string(String name, String dflt) {
      JsonNode n = obj.get(name);
      if (n == null || n.isNull()) return dflt;
      if (!n.isTextual()) throw new UnsupportedModelException(source + ": field '" + name + "' must be a string, got " + n);
      return n.asText();
    }

    String activation(String name, String dflt) {
      String a = string(name, dflt);
      if (!ACTIVATIONS.contains(a)) {
        throw new UnsupportedModelException(source + ": " + name + " '" + a + "' is not supported (one of " + ACTIVATIONS + ")");
      }
      return a;
    }

    List<Integer> intList(String name) {
      JsonNode n = obj.get(name);
      if (n == null || !n.isArray()) throw new UnsupportedModelException(source + ": field '" + name + "' must be a list of integers");
      List<Integer> out = new ArrayList<>();
      for (JsonNode e : n) {
        if (!e.canConvertToInt() || e.asInt() <= 0) {
          throw new UnsupportedModelException(source + ": field '" + name + "' must hold positive integers, got " + n);
        }
        out.add(e.asInt());
      }
      return List.copyOf(out);
    }
  }
}
