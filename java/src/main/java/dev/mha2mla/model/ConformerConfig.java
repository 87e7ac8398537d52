package dev.mha2mla.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mha2mla.io.MalformedFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
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

  /**
   * The MLA fields of a converted model: the latent size r of each encoder layer (floats cached per frame in that
   * layer; layers may differ when a conversion allocates ranks under a cache budget), how it was made, from what.
   */
  public record MlaSettings(List<Integer> latentDims, String method, boolean whitened, String sourceModel) {
    public MlaSettings {
      latentDims = List.copyOf(latentDims);
      if (latentDims.isEmpty() || latentDims.stream().anyMatch(r -> r < 1)) {
        throw new IllegalArgumentException("latent sizes must be at least 1 per layer, got " + latentDims);
      }
    }

    /** The same latent size r in each of {@code layers} layers. */
    public static MlaSettings uniform(int r, int layers, String method, boolean whitened, String sourceModel) {
      return new MlaSettings(Collections.nCopies(layers, r), method, whitened, sourceModel);
    }

    public int latentDim(int layer) {
      return latentDims.get(layer);
    }

    /** Whether every layer has the same latent size. */
    public boolean isUniform() {
      return latentDims.stream().distinct().count() == 1;
    }

    /** Floats a stream caches per frame over all layers: the sum of the layers' r. */
    public long cacheFloatsPerFrame() {
      return latentDims.stream().mapToLong(Integer::longValue).sum();
    }

    /** "72" when uniform, else the per-layer list "[96, 72, 48, 24]". */
    public String describe() {
      return describe(latentDims);
    }

    /** {@link #describe()} of a list of per-layer latent sizes. */
    public static String describe(List<Integer> latentDims) {
      return latentDims.stream().distinct().count() == 1 ? String.valueOf(latentDims.get(0)) : latentDims.toString();
    }
  }

  /**
   * The latent size a conversion uses unless told otherwise: r = d/2, which caches 4x fewer floats per frame than
   * K/V (2d) and keeps the whole attention output on the shipped model (README, the quick pipeline).
   */
  public int defaultLatentDim() {
    return Math.max(1, hiddenSize / 2);
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  public boolean isMla() {
    return mla != null;
  }

  /*
   * Ranges of the integer and real fields. Wav2Vec2-Conformer checkpoints use hidden 1024, 24 layers, 16 heads,
   * intermediate 4096, a depthwise kernel of 31, 7 feature-encoder convolutions of 512 channels with kernels
   * 10, 3, 3, 3, 3, 2, 2 and strides 5, 2, 2, 2, 2, 2, 2 (320 samples per frame, a 400-sample receptive field),
   * layer_norm_eps 1e-5. Each bound leaves a wide margin above that and stops values whose only effect would be
   * to exhaust memory or overflow arithmetic while the model is built from them (layers and positions are
   * allocated from the config before the weights are checked against it).
   */
  /** Encoder width: a square float32 weight of this width is 1 GiB. */
  public static final int MAX_HIDDEN_SIZE = 16384;
  /** Encoder layers: 10 times the largest checkpoint's 24. */
  public static final int MAX_LAYERS = 256;
  /** Feed-forward width: 4 times {@link #MAX_HIDDEN_SIZE}, the usual ratio. */
  public static final int MAX_INTERMEDIATE_SIZE = 4 * MAX_HIDDEN_SIZE;
  /** Depthwise convolution kernel (odd, for same padding): 8 times the checkpoints' 31; a stream keeps k - 1 frames. */
  public static final int MAX_DEPTHWISE_KERNEL = 255;
  /** Feature-encoder convolutions: the checkpoints have 7. */
  public static final int MAX_CONV_LAYERS = 16;
  /** Channels of a feature-encoder convolution. */
  public static final int MAX_CONV_DIM = 16384;
  /** Kernel and stride of one feature-encoder convolution, in samples (or frames of the layer below). */
  public static final int MAX_CONV_KERNEL = 1024;
  /** Samples per frame, the product of the strides: 2^20 is a frame per 65 s at 16 kHz (checkpoints: 320). */
  public static final long MAX_TOTAL_STRIDE = 1L << 20;
  /** Samples one frame sees (receptive field): 2^24 is 17 minutes at 16 kHz (checkpoints: 400). */
  public static final long MAX_RECEPTIVE_FIELD = 1L << 24;
  /** Output tokens; CTC vocabularies are characters (32) or subwords (a few thousand). */
  public static final int MAX_VOCAB_SIZE = 1 << 18;
  /** max_source_positions (HF's default is 5000). */
  public static final int MAX_SOURCE_POSITIONS = 1 << 20;
  /** SpecAugment span lengths and minimum counts, in frames or channels (checkpoints: 10 and 2). */
  public static final int MAX_MASK_LENGTH = 10000;
  /** LayerNorm epsilon, in (0, this]: larger values swamp the variance of unit-scale activations. */
  public static final double MAX_LAYER_NORM_EPS = 1e-1;

  /** Reads and validates {@code config.json}: a value out of range is a {@link MalformedFileException}. */
  public static ConformerConfig read(Path file) throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (NoSuchFileException | java.io.FileNotFoundException e) {
      throw new NoSuchFileException(file + ": config.json not found (a model folder needs config.json)");
    } catch (IOException e) {
      throw new MalformedFileException(file, "not valid JSON: " + e.getMessage(), e);
    }
    if (!(root instanceof ObjectNode obj)) {
      throw new MalformedFileException(file, "expected a JSON object, got " + root.getNodeType());
    }
    try {
      return fromJson(obj, file.toString());
    } catch (InvalidFieldException e) {
      throw new MalformedFileException(file, e.problem, e);
    }
  }

  /**
   * Validates a parsed config.
   *
   * @throws UnsupportedModelException if a field is missing, of the wrong type or out of its range (the message
   *     names {@code source}, the field and the limit), or asks for something the forward pass does not support
   */
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
    int hidden = f.integer("hidden_size", 1, MAX_HIDDEN_SIZE);
    int heads = f.integer("num_attention_heads", 1, hidden);
    if (hidden % heads != 0) {
      throw f.invalid("hidden_size " + hidden + " is not divisible by num_attention_heads " + heads
          + " (each head takes hidden_size / num_attention_heads channels)");
    }
    int layers = f.integer("num_hidden_layers", 1, MAX_LAYERS);
    int intermediate = f.integer("intermediate_size", 1, MAX_INTERMEDIATE_SIZE);
    List<Integer> convDim = f.intList("conv_dim", MAX_CONV_DIM);
    List<Integer> convKernel = f.intList("conv_kernel", MAX_CONV_KERNEL);
    List<Integer> convStride = f.intList("conv_stride", MAX_CONV_KERNEL);
    if (convDim.size() != convKernel.size() || convDim.size() != convStride.size()) {
      throw f.invalid("conv_dim, conv_kernel and conv_stride must have the same length, got " + convDim.size() + ", "
          + convKernel.size() + " and " + convStride.size());
    }
    if (obj.has("num_feat_extract_layers")
        && f.integer("num_feat_extract_layers", 1, MAX_CONV_LAYERS) != convDim.size()) {
      throw f.invalid("num_feat_extract_layers " + obj.get("num_feat_extract_layers")
          + " disagrees with conv_dim's length " + convDim.size());
    }
    checkConvStack(f, convKernel, convStride);
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
    int kernel = f.integer("conv_depthwise_kernel_size", 1, MAX_DEPTHWISE_KERNEL);
    if (kernel % 2 == 0) {
      throw f.invalid("field 'conv_depthwise_kernel_size' is " + kernel + "; it must be odd (same padding of "
          + "(k - 1) / 2 frames each side)");
    }
    double eps = f.real("layer_norm_eps", 1e-5, 0, false, MAX_LAYER_NORM_EPS);
    int positions = f.integer("max_source_positions", 1, MAX_SOURCE_POSITIONS);
    int vocab = f.integer("vocab_size", 1, MAX_VOCAB_SIZE);
    int pad = f.tokenId("pad_token_id", 0, vocab);
    f.tokenId("bos_token_id", null, vocab);
    f.tokenId("eos_token_id", null, vocab);
    // SpecAugment spans must be at least one frame (channel) long wherever masking is on
    double maskTimeProb = f.real("mask_time_prob", 0.0, 0, true, 1);
    int maskTimeLength = f.integer("mask_time_length", 10, maskTimeProb > 0 ? 1 : 0, MAX_MASK_LENGTH);
    int maskTimeMinMasks = f.integer("mask_time_min_masks", 2, 0, MAX_MASK_LENGTH);
    // read by SpecAugment from the raw JSON; checked here so a bad value fails when the model loads
    double maskFeatureProb = f.real("mask_feature_prob", 0.0, 0, true, 1);
    f.integer("mask_feature_length", 10, maskFeatureProb > 0 ? 1 : 0, MAX_MASK_LENGTH);
    f.integer("mask_feature_min_masks", 0, 0, MAX_MASK_LENGTH);
    MlaSettings mla = null;
    JsonNode m = obj.get("mla");
    if (m != null && !m.isNull()) {
      if (!m.isObject()) {
        throw f.invalid("the \"mla\" block must be an object holding a latent_dim in 1.." + 2 * hidden + ", got " + m);
      }
      mla = new MlaSettings(latentDims(new Fields((ObjectNode) m, source, "mla."), (ObjectNode) m, layers, hidden),
          m.path("method").asText("joint"), m.path("whitened").asBoolean(false), m.path("source_model").asText(""));
    }
    return new ConformerConfig(hidden, layers, heads, intermediate,
        hiddenAct, kernel, convDim, convKernel, convStride, f.bool("conv_bias", false), norm, featAct,
        eps, positions, vocab, pad, reduction, f.bool("ctc_zero_infinity", false),
        maskTimeProb, maskTimeLength, maskTimeMinMasks, mla, obj.deepCopy());
  }

  // The MLA block's latent sizes: "latent_dims" (one per layer), else "latent_dim" for every layer; both must agree.
  private static List<Integer> latentDims(Fields f, ObjectNode m, int layers, int hidden) {
    JsonNode list = m.get("latent_dims");
    if (list == null) return Collections.nCopies(layers, f.integer("latent_dim", 1, 2 * hidden));
    if (!list.isArray() || list.size() != layers) {
      throw f.invalid("field 'mla.latent_dims' must be a list of num_hidden_layers = " + layers + " integers in 1.."
          + 2 * hidden + ", got " + (list.size() > 64 ? list.size() + " entries" : list.toString()));
    }
    List<Integer> dims = new ArrayList<>();
    for (int i = 0; i < layers; i++) dims.add(f.inRange("latent_dims[" + i + "]", list.get(i), 1, 2 * hidden));
    if (m.has("latent_dim")) {
      int r = f.integer("latent_dim", 1, 2 * hidden);
      if (dims.stream().anyMatch(d -> d != r)) {
        throw f.invalid("field 'mla.latent_dim' (" + r + ") disagrees with 'mla.latent_dims' " + dims
            + "; give latent_dim only when every layer has that size");
      }
    }
    return List.copyOf(dims);
  }

  // Samples per frame (the product of the strides) and samples per frame's receptive field, in exact arithmetic.
  private static void checkConvStack(Fields f, List<Integer> kernels, List<Integer> strides) {
    long stride = 1;
    for (int s : strides) {
      stride *= s; // at most 2^20 * 2^10 before the check below: no overflow
      if (stride > MAX_TOTAL_STRIDE) {
        throw f.invalid("conv_stride " + strides + " gives more than " + MAX_TOTAL_STRIDE
            + " samples per frame (the limit; their product)");
      }
    }
    // field = (field - 1) * stride_i + kernel_i from the top layer down: at most 16 * 2^10 * 2^20, fits a long
    long field = 1;
    for (int i = kernels.size() - 1; i >= 0; i--) {
      field = (field - 1) * strides.get(i) + kernels.get(i);
    }
    if (field > MAX_RECEPTIVE_FIELD) {
      throw f.invalid("conv_kernel " + kernels + " with conv_stride " + strides + " gives a receptive field of "
          + field + " samples, more than the limit of " + MAX_RECEPTIVE_FIELD);
    }
  }

  /**
   * A field of the wrong type or outside its range. It is an {@link UnsupportedModelException} for callers of
   * {@link #fromJson}; {@link #read} turns it into a {@link MalformedFileException} of the file.
   */
  private static final class InvalidFieldException extends UnsupportedModelException {
    private static final long serialVersionUID = 1L;
    private final String problem;

    InvalidFieldException(String source, String problem) {
      super(source + ": " + problem);
      this.problem = problem;
    }
  }

  /** This config with the MLA block set (the raw JSON gains an "mla" object). */
  public ConformerConfig withMla(MlaSettings settings) {
    ObjectNode copy = raw.deepCopy();
    ObjectNode m = copy.putObject("mla");
    if (settings.latentDims().size() != numHiddenLayers) {
      throw new IllegalArgumentException(settings.latentDims().size() + " latent sizes for " + numHiddenLayers + " layers");
    }
    if (settings.isUniform()) m.put("latent_dim", settings.latentDim(0));  // what readers of one size expect
    settings.latentDims().forEach(m.putArray("latent_dims")::add);
    m.put("method", settings.method());
    m.put("whitened", settings.whitened());
    m.put("source_model", settings.sourceModel());
    m.put("cache_floats_per_frame", settings.cacheFloatsPerFrame());
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

  /** Typed, validated access to config fields with messages that name the file, the field and its limits. */
  private record Fields(ObjectNode obj, String source, String prefix) {
    Fields(ObjectNode obj, String source) {
      this(obj, source, "");
    }

    InvalidFieldException invalid(String problem) {
      return new InvalidFieldException(source, problem);
    }

    /** A required integer in [min, max]. */
    int integer(String name, int min, int max) {
      JsonNode n = obj.get(name);
      if (n == null || n.isNull()) {
        throw invalid("field '" + prefix + name + "' is missing; it must be an integer in " + min + ".." + max);
      }
      return inRange(name, n, min, max);
    }

    /** An optional integer in [min, max]. */
    int integer(String name, int dflt, int min, int max) {
      JsonNode n = obj.get(name);
      return n == null || n.isNull() ? dflt : inRange(name, n, min, max);
    }

    /** A token id: an integer in [0, vocabSize), or {@code dflt} when absent (null: not needed). */
    Integer tokenId(String name, Integer dflt, int vocabSize) {
      JsonNode n = obj.get(name);
      return n == null || n.isNull() ? dflt : Integer.valueOf(inRange(name, n, 0, vocabSize - 1));
    }

    // Integral JSON numbers only: 64.5 (or 64.0) is not an integer, where Jackson's asInt() would truncate it.
    private int inRange(String name, JsonNode n, int min, int max) {
      if (!n.isIntegralNumber()) {
        throw invalid("field '" + prefix + name + "' must be an integer in " + min + ".." + max + ", got " + n);
      }
      if (!n.canConvertToInt() || n.intValue() < min || n.intValue() > max) {
        throw invalid("field '" + prefix + name + "' is " + n + ", outside the supported range " + min + ".." + max);
      }
      return n.intValue();
    }

    /** An optional finite real in (min, max], or [min, max] when {@code minIncluded}. */
    double real(String name, double dflt, double min, boolean minIncluded, double max) {
      JsonNode n = obj.get(name);
      if (n == null || n.isNull()) return dflt;
      String range = (minIncluded ? "[" : "(") + min + ", " + max + "]";
      if (!n.isNumber()) {
        throw invalid("field '" + prefix + name + "' must be a number in " + range + ", got " + n);
      }
      double v = n.asDouble();
      if (!(minIncluded ? v >= min : v > min) || !(v <= max)) {
        throw invalid("field '" + prefix + name + "' is " + n + ", outside the supported range " + range);
      }
      return v;
    }

    boolean bool(String name, boolean dflt) {
      JsonNode n = obj.get(name);
      if (n == null || n.isNull()) return dflt;
      if (!n.isBoolean()) throw invalid("field '" + prefix + name + "' must be true or false, got " + n);
      return n.asBoolean();
    }

    String string(String name, String dflt) {
      JsonNode n = obj.get(name);
      if (n == null || n.isNull()) return dflt;
      if (!n.isTextual()) throw invalid("field '" + prefix + name + "' must be a string, got " + n);
      return n.asText();
    }

    String activation(String name, String dflt) {
      String a = string(name, dflt);
      if (!ACTIVATIONS.contains(a)) {
        throw new UnsupportedModelException(source + ": " + name + " '" + a + "' is not supported (one of " + ACTIVATIONS + ")");
      }
      return a;
    }

    /** A list of 1 to {@link #MAX_CONV_LAYERS} integers in [1, max]. */
    List<Integer> intList(String name, int max) {
      JsonNode n = obj.get(name);
      if (n == null || !n.isArray() || n.isEmpty() || n.size() > MAX_CONV_LAYERS) {
        throw invalid("field '" + prefix + name + "' must be a list of 1 to " + MAX_CONV_LAYERS + " integers in 1.."
            + max + ", got " + (n == null ? "nothing" : n.size() > 64 ? n.size() + " entries" : n.toString()));
      }
      List<Integer> out = new ArrayList<>();
      for (int i = 0; i < n.size(); i++) {
        out.add(inRange(name + "[" + i + "]", n.get(i), 1, max));
      }
      return List.copyOf(out);
    }
  }
}
