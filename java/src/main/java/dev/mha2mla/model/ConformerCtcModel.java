package dev.mha2mla.model;

import dev.mha2mla.io.Malloc;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.kernels.KeyValueCache;
import dev.mha2mla.kernels.LatentCache;
import dev.mha2mla.kernels.StreamingCache;
import dev.mha2mla.kernels.TorchTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

/**
 * A HuggingFace {@code Wav2Vec2ConformerForCTC} in eval mode: feature encoder, feature projection,
 * conformer encoder, CTC head. Holds its weights as LibTorch tensors (native memory) until {@link #close()}.
 * An MLA-converted model is the same network with {@link LatentAttention} blocks.
 *
 * <p>Loading a model on the CPU whose weight tensors are all smaller than 2 MiB (the shipped models) fixes glibc's
 * malloc thresholds for the whole process, once ({@link Malloc#retainFreedMemory()}).
 */
public final class ConformerCtcModel implements HasWeights, AutoCloseable {
  public static final String PREFIX = "wav2vec2_conformer.";

  static {
    // NNPACK serves only batches of 16 or more; on CPUs where it cannot initialise, LibTorch's availability check
    // warns on every convolution, so it is off before the first one
    torch.globalContext().setUserEnabledNNPACK(false);
  }

  private final ConformerConfig config;
  private final FeatureEncoder featureEncoder;
  private final LayerNorm projectionNorm;
  private final Linear projection;
  private final ConformerEncoder encoder;
  private final Linear lmHead;
  private final Tensor maskedSpecEmbed;
  /** Stored tensors the CTC forward pass never reads (positional conv of pre-training, BatchNorm counters), written back verbatim. */
  private final Map<String, RawTensor> passthrough = new LinkedHashMap<>();
  private final Device device;
  /** Projected position tables of streams, per (chunk, span): one tensor per layer. Freed by close(). */
  private final Map<List<Integer>, List<Tensor>> streamPositions = new HashMap<>();
  private boolean closed;

  /** Output of a forward pass: logits [B, T, V] and the number of valid frames of each sequence. */
  public record Output(Tensor logits, long[] frameLengths) {}

  private ConformerCtcModel(ConformerConfig config, StateDict sd, Device device) {
    this.config = config;
    this.device = device;
    this.featureEncoder = new FeatureEncoder(config, sd, PREFIX + "feature_extractor.");
    long c = config.convDim().get(config.convDim().size() - 1);
    this.projectionNorm = LayerNorm.load(sd, PREFIX + "feature_projection.layer_norm", c, config.layerNormEps());
    this.projection = Linear.load(sd, PREFIX + "feature_projection.projection", config.hiddenSize(), c, true);
    this.encoder = new ConformerEncoder(config, sd, PREFIX + "encoder.",
        (layer, prefix) -> config.isMla() ? LatentAttention.load(config, layer, sd, prefix)
            : MultiHeadAttention.load(config, sd, prefix));
    this.lmHead = Linear.load(sd, "lm_head", config.vocabSize(), config.hiddenSize(), true);
    this.maskedSpecEmbed = sd.contains(PREFIX + "masked_spec_embed")
        ? sd.take(PREFIX + "masked_spec_embed", config.hiddenSize()) : null;
    for (int i = 0; i < config.numHiddenLayers(); i++) {
      String name = PREFIX + "encoder.layers." + i + ".conv_module.batch_norm.num_batches_tracked";
      RawTensor counter = encoder.layers().get(i).conv().batchesTracked();
      if (counter != null) passthrough.put(name, counter);
    }
    sd.keepAllWithPrefix(PREFIX + "encoder.pos_conv_embed.", passthrough);
    sd.finish();
    if (fixesMalloc(device, largestWeightBytes())) Malloc.retainFreedMemory();
  }

  /** A transparent huge page: a weight tensor smaller than this gains nothing from a mapping of its own. */
  static final long HUGE_PAGE_BYTES = 2L << 20;

  /**
   * Whether a model fixes malloc's thresholds when it loads: on the CPU, when none of its weight tensors could fill a
   * huge page, its activations then stay with malloc from one pass to the next in every process ({@link Malloc});
   * larger weights keep glibc's adaptive thresholds, which map them on their own, on huge pages.
   */
  static boolean fixesMalloc(Device device, long largestWeightBytes) {
    return (device == null || !device.is_cuda()) && largestWeightBytes < HUGE_PAGE_BYTES;
  }

  /** Bytes of the largest weight tensor. */
  long largestWeightBytes() {
    long largest = 0;
    for (Tensor t : weights().values()) largest = Math.max(largest, t.numel() * t.itemsize());
    return largest;
  }

  /** Loads a model folder (config.json + model.safetensors or pytorch_model.bin) onto the CPU. */
  public static ConformerCtcModel load(Path dir) throws IOException {
    return load(dir, null);
  }

  /** Loads a model folder onto {@code device} (null = CPU). */
  public static ConformerCtcModel load(Path dir, Device device) throws IOException {
    ConformerConfig config = ConformerConfig.read(dir.resolve("config.json"));
    StateDict weights = StateDict.read(dir);
    try {
      return fromStateDict(config, weights, device);
    } catch (RuntimeException e) {
      weights.releaseUntaken();
      throw e;
    }
  }

  public static ConformerCtcModel fromStateDict(ConformerConfig config, StateDict sd, Device device) {
    sd.placeOn(device);
    return new ConformerCtcModel(config, sd, device);
  }

  /**
   * @param inputValues normalised audio [B, N] (float32)
   * @param sampleLengths real samples per row, or null when no row is padded
   */
  public Output forward(Tensor inputValues, long[] sampleLengths, Trace trace) {
    return forward(inputValues, sampleLengths, null, null, trace);
  }

  /**
   * The training forward pass: as {@link #forward(Tensor, long[], Trace)}, plus SpecAugment applied where
   * HuggingFace's {@code _mask_hidden_states} applies it, after the feature projection and before the encoder:
   * masked frames are replaced by {@code masked_spec_embed} (h[b, t, :] = e where timeMask[b, t]), masked
   * channels are zeroed over all frames (h[b, :, c] = 0 where featureMask[b, c]).
   *
   * @param timeMask bool [B, T] (T = frames of the padded batch, see {@link #frameLengths}), or null
   * @param featureMask bool [B, D], or null
   */
  public Output forward(Tensor inputValues, long[] sampleLengths, Tensor timeMask, Tensor featureMask, Trace trace) {
    return forward(inputValues, sampleLengths, null, timeMask, featureMask, trace);
  }

  /**
   * The forward pass restricted as a stream with {@code chunking} is ({@link Chunking}; null: whole utterances): each
   * frame attends to its chunk's window only and its convolutions see nothing past its chunk's end, so a sequence's
   * logits equal those a {@code RecognizerStream} with the same chunk and left context decodes from the same
   * (normalised) samples. Attention then runs LibTorch's operations over a [B, 1, T, T] mask; differentiable, which is
   * what chunk-aware training needs.
   */
  public Output forward(Tensor inputValues, long[] sampleLengths, Chunking chunking, Tensor timeMask, Tensor featureMask,
      Trace trace) {
    checkOpen();
    CpuThreads.adapt();
    Tensor input = inputValues.to(device == null ? inputValues.device() : device, ScalarType.Float);
    Tensor features = featureEncoder.forward(input).transpose(1, 2); // [B, T, C], contiguous
    if (trace != null) trace.record("extract_features_conv", features);
    long frames = features.size(1);
    long batch = features.size(0);
    long[] frameLengths = new long[(int) batch];
    for (int b = 0; b < batch; b++) {
      frameLengths[b] = sampleLengths == null ? frames : Math.min(frames, featureEncoder.frames(sampleLengths[b]));
    }
    PaddingMask mask = chunking != null ? PaddingMask.chunked(frameLengths, frames, chunking, input.device())
        : sampleLengths == null ? null : PaddingMask.of(frameLengths, frames, input.device());
    Tensor normed = projectionNorm.forward(features);
    if (trace != null) trace.record("extract_features", normed);
    Tensor hidden = projection.forward(normed);
    if (trace != null) trace.record("projected", hidden);
    if (timeMask != null) {
      if (maskedSpecEmbed == null) {
        throw new IllegalStateException("time masking needs masked_spec_embed, which this model's weights lack");
      }
      Tensor where = timeMask.to(hidden.device(), ScalarType.Bool).unsqueeze(-1);
      hidden = torch.where(where, maskedSpecEmbed.to(hidden.device(), TorchTensors.scalarType(hidden)), hidden);
    }
    if (featureMask != null) {
      hidden = hidden.masked_fill(featureMask.to(hidden.device(), ScalarType.Bool).unsqueeze(1), new Scalar(0.0));
    }
    Tensor last = encoder.forward(hidden, mask, trace);
    if (trace != null) trace.record("last_hidden_state", last);
    Tensor logits = lmHead.forward(last);
    if (trace != null) trace.record("logits", logits);
    return new Output(logits, frameLengths);
  }

  /**
   * The front end of a stream: normalised samples [1, N] to projected frames [1, F, D] (conv stack, LayerNorm,
   * projection). Each frame depends on its own 400-odd samples only, so consecutive calls on sample windows that
   * start at multiples of the total stride give exactly the frames of one call on the whole (a "group"-norm
   * feature encoder, which normalises over time, is the exception: there the window's statistics are used).
   */
  public Tensor streamFeatures(Tensor samples) {
    checkOpen();
    CpuThreads.adapt();
    Tensor input = samples.to(device == null ? samples.device() : device, ScalarType.Float);
    return projection.forward(projectionNorm.forward(featureEncoder.forward(input).transpose(1, 2)));
  }

  /** One chunk of a stream: projected frames [1, C, D] (C at most the stream's chunk size) to logits [1, C, V]. */
  public Tensor streamChunk(Tensor frames, StreamState state) {
    checkOpen();
    CpuThreads.adapt();
    if (frames.size(1) > state.chunkFrames()) {
      throw new IllegalArgumentException("a chunk of " + frames.size(1) + " frames exceeds the stream's " + state.chunkFrames());
    }
    int count = (int) frames.size(1);
    int span = state.spanFor(count);
    if (span != state.span()) state.usePositions(span, streamPositions(state.chunkFrames(), span));
    Tensor x = device == null ? frames : frames.to(device, ScalarType.Float);
    Tensor logits = lmHead.forward(encoder.forwardChunk(x, state));
    state.advance(count);
    return logits;
  }

  /**
   * A new stream's state: chunks of at most {@code chunkFrames} frames, each attending to itself and up to
   * {@code leftContextFrames} earlier frames, over a cache of {@code kind}. Cache and position tables start small and
   * grow with the stream (see {@link StreamState}); the layers' projected position tables are computed once per
   * (chunk, span) and shared by every stream of this model.
   */
  public StreamState openStream(int chunkFrames, int leftContextFrames, StreamingCacheKind kind) {
    checkOpen();
    if (chunkFrames < 1) throw new IllegalArgumentException("chunk must be at least 1 frame, got " + chunkFrames);
    if (leftContextFrames < 0) throw new IllegalArgumentException("left context must be >= 0 frames, got " + leftContextFrames);
    int window = Math.addExact(chunkFrames, leftContextFrames);
    // a table for span S has 2S - 1 rows, of which a chunk of C needs S + C - 1: so S >= C from the start
    int span = Math.min(window, Math.max(chunkFrames, StreamState.INITIAL_SPAN));
    List<Tensor> positions = streamPositions(chunkFrames, span);
    List<ConformerLayer> layers = encoder.layers();
    Device where = device == null ? new Device("cpu") : device;
    StreamingCache cache = newStreamingCache(kind, where, window);
    Tensor[] context = new Tensor[layers.size()];
    try (PointerScope scope = new PointerScope()) {
      for (int i = 0; i < context.length; i++) context[i] = TorchTensors.keep(layers.get(i).conv().initialContext());
    }
    return new StreamState(cache, context, span, positions, chunkFrames, leftContextFrames);
  }

  /** One session's cache over every layer: K/V (2D floats per frame and layer) or latent (r_l floats, MLA only). */
  private StreamingCache newStreamingCache(StreamingCacheKind kind, Device where, int window) {
    List<ConformerLayer> layers = encoder.layers();
    if (kind == StreamingCacheKind.KEY_VALUE) {
      return KeyValueCache.create(where, layers.size(), config.numAttentionHeads(), config.headDim(), window);
    }
    if (!layers.get(0).attention().hasLatent()) {
      throw new IllegalArgumentException("multi-head attention has no latent to cache; convert the model to MLA first");
    }
    int[] r = layers.stream().mapToInt(l -> (int) l.attention().cacheFloatsPerFrame()).toArray();
    return LatentCache.create(where, r, window);
  }

  private synchronized List<Tensor> streamPositions(int chunkFrames, int span) {
    checkOpen();
    return streamPositions.computeIfAbsent(List.of(chunkFrames, span), key -> {
      // rows m = 0 .. span + chunk - 2 of the HF table for `span` frames hold delta = span - 1 - m (each row a
      // function of its delta alone, so tables of every span agree where they overlap)
      List<Tensor> out = new ArrayList<>();
      try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        Tensor table = RelativePositionalEmbedding.table(span, config.hiddenSize()).narrow(0, 0, span + chunkFrames - 1);
        Tensor onDevice = device == null ? table : table.to(device, ScalarType.Float);
        for (ConformerLayer layer : encoder.layers()) {
          out.add(TorchTensors.keep(layer.attention().projectPositions(onDevice).contiguous()));
        }
      }
      return List.copyOf(out);
    });
  }

  /**
   * Frames of each row of a batch padded to {@code paddedSamples}: the conv stack's output length of its real
   * samples (HF's {@code _get_feat_extract_output_lengths}), at most the padded batch's frame count.
   */
  public long[] frameLengths(long[] sampleLengths, long paddedSamples) {
    long frames = featureEncoder.frames(paddedSamples);
    long[] out = new long[sampleLengths.length];
    for (int b = 0; b < out.length; b++) out[b] = Math.min(frames, featureEncoder.frames(sampleLengths[b]));
    return out;
  }

  /**
   * A newly initialised model for {@code config}, its weights drawn as HuggingFace's {@code _init_weights} draws
   * them (see {@link InitialWeights}) from a generator seeded with {@code seed}: the same seed gives the same bits.
   */
  public static ConformerCtcModel initialize(ConformerConfig config, long seed, Device device) {
    return fromStateDict(config, new StateDict("fresh initialisation (seed " + seed + ")", InitialWeights.draw(config, seed)),
        device);
  }

  /** Whether streams can cache the latent (an MLA model) rather than K/V. */
  public boolean hasLatent() {
    return encoder.layers().get(0).attention().hasLatent();
  }

  /** Native fused kernels or LibTorch operations for every attention block's inference calls. */
  public void setAttentionBackend(AttentionBackend backend) {
    for (ConformerLayer layer : encoder.layers()) layer.attention().setBackend(backend);
  }

  public ConformerConfig config() {
    return config;
  }

  public FeatureEncoder featureEncoder() {
    return featureEncoder;
  }

  public ConformerEncoder encoder() {
    return encoder;
  }

  public Device device() {
    return device;
  }

  /** The CTC head: final hidden states [B, T, D] to logits [B, T, V]. */
  public Linear lmHead() {
    return lmHead;
  }

  public Tensor maskedSpecEmbed() {
    return maskedSpecEmbed;
  }

  /** Floats cached per frame summed over layers' attention (2D per layer for MHA, r for MLA). */
  public long cacheFloatsPerFrame() {
    return encoder.layers().stream().mapToLong(l -> l.attention().cacheFloatsPerFrame()).sum();
  }

  /** Every tensor of the model under its HuggingFace name, in file order (the passthrough tensors excluded). */
  @Override
  public void weights(String prefix, Map<String, Tensor> out) {
    featureEncoder.weights(prefix + PREFIX + "feature_extractor.", out);
    projectionNorm.weights(prefix + PREFIX + "feature_projection.layer_norm.", out);
    projection.weights(prefix + PREFIX + "feature_projection.projection.", out);
    encoder.weights(prefix + PREFIX + "encoder.", out);
    if (maskedSpecEmbed != null) out.put(prefix + PREFIX + "masked_spec_embed", maskedSpecEmbed);
    lmHead.weights(prefix + "lm_head.", out);
  }

  public Map<String, Tensor> weights() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    weights("", out);
    return out;
  }

  /** The full state dict as it would be written to model.safetensors. */
  public Map<String, RawTensor> stateDict() {
    Map<String, RawTensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : weights().entrySet()) out.put(e.getKey(), TorchTensors.toRaw(e.getValue()));
    out.putAll(passthrough);
    return out;
  }

  private void checkOpen() {
    if (closed) throw new IllegalStateException("model is closed");
  }

  /** Frees the native memory of every weight. */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    for (Tensor t : weights().values()) t.close();
    for (List<Tensor> tables : streamPositions.values()) tables.forEach(Tensor::close);
    streamPositions.clear();
  }
}
